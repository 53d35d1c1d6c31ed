"""Alembic revision scripts."""

__all__: list[str] = []
