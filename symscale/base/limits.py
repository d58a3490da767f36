"""Size limits checked before allocating: a request that cannot fit in memory or on disk is refused up front.

The memory budget is the least of a fixed cap (:data:`MAX_MEMORY_BYTES`), the headroom left under the
process's address-space limit (``ulimit -v``, ``prlimit --as``) and the memory the system has available,
so a run under a memory cap is refused with the size it needs instead of dying with MemoryError.
"""

from __future__ import annotations

import os
import resource

from symscale.base.errors import InputError

MAX_MEMORY_BYTES = 8 * 2**30


def size_text(n: float) -> str:
    """Bytes in binary units: '1.5 GiB', '728 TiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.3g} EiB"


def _status_bytes(field: str, path: str = "/proc/self/status") -> float | None:
    """A 'kB' field of /proc/self/status or /proc/meminfo in bytes (None where unavailable)."""
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return float(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def memory_budget() -> float:
    """Bytes this process may still allocate: fixed cap, address-space headroom, available memory."""
    budget = float(MAX_MEMORY_BYTES)
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        used = _status_bytes("VmSize") or 0.0
        budget = min(budget, max(soft - used, 0.0))
    available = _status_bytes("MemAvailable", "/proc/meminfo")
    if available is not None:
        budget = min(budget, available)
    return budget


def check_memory(need: float, what: str) -> None:
    """Refuse (InputError) a computation estimated to need ``need`` bytes when that exceeds the budget."""
    budget = memory_budget()
    if need > budget:
        raise InputError(f"{what} would need about {size_text(need)} of memory; the limit here is "
                         f"{size_text(budget)}: use a smaller grid")


def check_disk(need: float, path: str | None, what: str) -> None:
    """Refuse writing about ``need`` bytes to the regular file ``path`` when its filesystem has less free."""
    if path is None:
        return
    import stat

    try:
        if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
            return  # a device or FIFO: no filesystem to measure
        info = os.statvfs(os.path.dirname(os.path.abspath(path)))
    except (OSError, ValueError):
        return
    free = info.f_bavail * info.f_frsize
    if need > free:
        from symscale.base.files import shown

        raise InputError(f"cannot write {shown(path)}: no space left on device ({what} would write about "
                         f"{size_text(need)}; {size_text(free)} is free there)")
