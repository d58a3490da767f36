"""Spread independent chunks of work over the machine's cores, keeping their order."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator


def parallel_map(func: Callable, items: list, workers: int | None = None) -> Iterator:
    """Yield ``func(item)`` for each item, in order, from a process pool when there is more than one worker.

    ``workers`` defaults to every core; ``func`` must be a module-level function (it is pickled).
    """
    workers = min(workers or os.cpu_count() or 1, len(items))
    if workers <= 1:
        yield from map(func, items)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(func, items)


def chunked(total: int, size: int) -> Iterable[slice]:
    """Slices covering range(total) in pieces of ``size``."""
    return [slice(start, min(start + size, total)) for start in range(0, total, size)]
