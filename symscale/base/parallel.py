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
        for result in pool.map(func, items):
            _raise_if_signalled()
            yield result
    except GeneratorExit:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    except BaseException:  # Ctrl-C, SIGTERM, an error: joining a pool whose workers died can hang for ever
        stop_workers()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _raise_if_signalled() -> None:
    """Re-raise a Ctrl-C / SIGTERM whose exception Python swallowed while a worker was forked."""
    from symscale.base.files import raise_if_signalled

    raise_if_signalled()


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


def bounded_map(func: Callable, items: list, workers: int | None = None, *, ahead: int = 2,
                setup: Callable | None = None, setup_args: tuple = ()) -> Iterator:
    """Like parallel_map, with at most ``ahead`` results per worker computed and not yet consumed.

    Memory stays bounded by the window however slowly the consumer (a disk) takes the results.
    ``setup(*setup_args)`` runs once in each worker (and here, without workers) before any item.
    """
    workers = min(workers or os.cpu_count() or 1, len(items))
    if workers <= 1:
        if setup is not None:
            setup(*setup_args)
        yield from map(func, items)
        return
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_setup, initargs=(setup, setup_args))
    try:
        pending, queue = deque(), iter(items)
        for item in queue:
            pending.append(pool.submit(func, item))
            if len(pending) >= workers * ahead:
                break
        while pending:
            result = pending.popleft().result()
            for item in queue:
                pending.append(pool.submit(func, item))
                break
            _raise_if_signalled()
            yield result
    except GeneratorExit:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    except BaseException:  # as in parallel_map: never join a pool whose workers died
        stop_workers()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _worker_setup(setup: Callable | None, setup_args: tuple) -> None:
    _worker_signals()
    if setup is not None:
        setup(*setup_args)
