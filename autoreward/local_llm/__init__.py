"""The embedded, offline LLM: the model file (model.py), its llama.cpp server (server.py), and how a run uses
them (endpoint.py)."""
