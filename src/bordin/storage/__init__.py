"""bordin.storage."""

__all__: list[str] = []
