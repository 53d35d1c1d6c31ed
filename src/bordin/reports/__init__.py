"""bordin.reports."""

__all__: list[str] = []
