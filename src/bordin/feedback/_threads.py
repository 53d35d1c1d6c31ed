"""The feedback engine's two threads: a large frame's independent steps run on the calling
thread and one worker (the kernels release the GIL), a small frame's on the calling thread
alone. Every task only reads the prepared arrays and writes its own result, so the output
is bit-identical either way."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, Final

__all__ = ["THREADED_FROM_ROWS", "InlineExecutor", "executor"]

#: Below this many rows the engine runs on the calling thread alone: starting the worker
#: thread costs more than it saves (a client's recompute in the service is a few rows).
THREADED_FROM_ROWS: Final = 20_000


class InlineExecutor(Executor):
    """Runs each task at once on the calling thread (the pool for small frames)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # the future carries it, as a pool's would
            future.set_exception(exc)
        return future


def executor(n_rows: int) -> Executor:
    """Two threads for a large frame, the calling thread alone for a small one; every task
    computes the same either way, so the result is bit-identical."""
    return ThreadPoolExecutor(max_workers=2) if n_rows >= THREADED_FROM_ROWS else InlineExecutor()
