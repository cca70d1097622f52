"""The Translate page: documents translated segment by segment, side by side."""
