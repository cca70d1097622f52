"""Widgets shared by more than one page."""
