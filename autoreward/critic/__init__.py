"""The Critic: static checks, a sandboxed dry run on real states, and an optional LLM review."""
