"""The Models page: the curated catalog, Hub search, installed models, downloads."""
