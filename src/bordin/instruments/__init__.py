"""bordin.instruments."""

__all__: list[str] = []
