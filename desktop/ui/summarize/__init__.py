"""The Summarize page: a text of any length made into a summary, its versions and history."""
