"""Task cards, environment adapters and the State builder (installed as ``autoreward.envs``)."""
