"""The ``bordin`` command: thin commands over the library (parse, call, print)."""

__all__: list[str] = []
