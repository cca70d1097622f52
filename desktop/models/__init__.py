"""Model files: GGUF metadata, installed models, the starter model."""
