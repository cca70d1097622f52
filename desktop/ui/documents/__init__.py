"""The Documents page: libraries of the user's files, their indexing, and a search of them."""
