"""The chat page: the conversation view and its streaming answer."""
