"""Training, evaluation and videos of accepted candidates; runs inside the sandboxed worker."""
