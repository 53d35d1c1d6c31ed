"""bordin.feedback."""

__all__: list[str] = []
