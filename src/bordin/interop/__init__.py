"""bordin.interop."""

__all__: list[str] = []
