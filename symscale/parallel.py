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

    pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_signals)
    try:
        yield from pool.map(func, items)
    except GeneratorExit:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    except BaseException:  # Ctrl-C, SIGTERM, an error: joining a pool whose workers died can hang for ever
        stop_workers()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def stop_workers() -> None:
    """Kill this process's multiprocessing children (the pool's workers), if any were started."""
    import sys

    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is None:
        return
    for child in multiprocessing.active_children():
        child.kill()


def _worker_signals() -> None:
    """Workers leave Ctrl-C to the parent (which stops them) and die of SIGTERM."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def chunked(total: int, size: int) -> Iterable[slice]:
    """Slices covering range(total) in pieces of ``size``."""
    return [slice(start, min(start + size, total)) for start in range(0, total, size)]
