"""The Server page: Lantern's local OpenAI-compatible API, started and stopped in the window,
with its address, key, allowed web pages, snippets to call it, and its live request log."""
