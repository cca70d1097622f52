"""SQLite through SQLAlchemy: the only package that imports it. Repositories hand out plain
dataclasses, never ORM objects."""
