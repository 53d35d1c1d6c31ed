"""Bordin: alliance-informed measurement-based care for psychotherapy.

The core (``instruments``, ``scoring``, ``feedback``, ``analytics``, ``simulate``) is pure and
typed; ``storage``, ``web``, ``cli`` and ``reports`` are adapters that call it.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
