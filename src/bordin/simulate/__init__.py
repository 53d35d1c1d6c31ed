"""bordin.simulate."""

__all__: list[str] = []
