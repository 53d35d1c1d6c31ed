"""What the feedback rules' compiled kernels share (numba options and constants).

Each rule's kernels live beside the rule, in its module.

Why compiled loops rather than numpy expressions: every rule is a short recurrence within a
client (previous value, running mean and SD, an exponentially weighted level, run lengths,
a forward search for a repair within three sessions). As numpy expressions each recurrence
becomes a dozen whole-column temporaries; on a clinic of a million sessions that made the
engine take twice as long as reading the data from CSV. A compiled kernel walks the rows
once, in the frame's client-and-session order, and keeps the recurrence's state in
registers. pandas' own ``engine="numba"`` for window and group operations takes the same
route.

Each kernel visits one client's rows in session order and resets its state at the client's
first row, so a client's values are added in the same order as a loop over that client
alone would add them: they never depend, even in the last bit, on other clients' data or on
later sessions. That is what makes "a session added later never changes an earlier signal"
hold exactly. Sums pooled across clients by session number (the clinic's within-client SD,
the expected recovery curves) are accumulated in row order into per-session bins, the same
order ``numpy.bincount`` uses.

All kernels release the GIL (``nogil=True``), so the engine's worker thread runs them on a
second core, and are cached on disk after the first compilation (``cache=True``).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

__all__ = ["BIG", "JIT", "NAN"]

JIT: Final[dict[str, Any]] = {"cache": True, "nogil": True, "error_model": "numpy"}
NAN: Final = np.nan
BIG: Final = float(np.finfo(np.float64).max)
