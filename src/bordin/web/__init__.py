"""bordin.web."""

__all__: list[str] = []
