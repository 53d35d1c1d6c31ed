"""Alembic migration environment shipped inside the package (see ``bordin.storage.migrate``)."""

__all__: list[str] = []
