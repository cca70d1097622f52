"""The Chat page (page.py) and its parts: the conversation sidebar, the conversation view and
its messages (Markdown, streamed answers), the context meter, the parameters dialog."""
