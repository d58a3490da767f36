"""Training runs for the fit: read from CSV, validated, selected by tokens per parameter."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from symscale.base.errors import InputError

N_PARAMS = 5
"""The law has five coefficients, so a fit needs at least five runs."""


@dataclass(frozen=True)
class Runs:
    """Training runs to fit: parameters N, tokens D, final loss L, and their CSV line numbers."""

    params: np.ndarray
    tokens: np.ndarray
    loss: np.ndarray
    lines: np.ndarray
    source: str = ""

    def __len__(self) -> int:
        return len(self.loss)

    def logs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ln N, ln D, ln L): the data the kernels take."""
        return np.log(self.params), np.log(self.tokens), np.log(self.loss)

    def subset(self, keep: np.ndarray) -> Runs:
        """The runs selected by a boolean mask or index array."""
        return Runs(self.params[keep], self.tokens[keep], self.loss[keep], self.lines[keep], self.source)


def _rows(lines: np.ndarray, limit: int = 8) -> str:
    """'rows 3, 7, 9' for messages (CSV line numbers, header = line 1)."""
    shown = ", ".join(str(int(n)) for n in lines[:limit])
    more = f" and {len(lines) - limit} more" if len(lines) > limit else ""
    return f"row{'s' if len(lines) > 1 else ''} {shown}{more}"


def _column(frame, name: str, lines: np.ndarray) -> np.ndarray:
    """One numeric, finite, positive column, or an InputError naming the bad rows."""
    import pandas as pd

    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        raise InputError(f"column {name!r} has missing or non-numeric values at {_rows(lines[bad])}")
    bad = values <= 0
    if bad.any():
        raise InputError(f"column {name!r} must be > 0 but is not at {_rows(lines[bad])}")
    return values


def read_runs_frame(path: str | Path):
    """The runs table (a pandas DataFrame) of a CSV file or a bundled dataset, and its label for messages."""
    import io

    import pandas as pd

    from symscale.base.datasets import runs_source
    from symscale.base.files import read_user_text

    source, label = runs_source(path)
    text = source.getvalue() if isinstance(source, io.StringIO) else read_user_text(source, "runs file")
    try:
        return pd.read_csv(io.StringIO(text)), label
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"runs file {str(path)!r} is not a readable CSV: {str(exc).strip()}") from None


def load_runs(
    path: str | Path,
    params_col: str = "Parameters",
    tokens_col: str = "Tokens",
    loss_col: str = "Smoothed Loss",
    flops_col: str | None = None,
    cutoff: float | None = None,
    exclude_highest_loss: int = 0,
) -> Runs:
    """Read runs from a CSV file or a bundled dataset (``sardana-2024``); with ``flops_col`` tokens are
    FLOPs/(6N); filter by tokens/param and loss."""


    frame, label = read_runs_frame(path)
    wanted = [params_col, flops_col if flops_col else tokens_col, loss_col]
    roles = dict(zip(("--params-col", "--flops-col" if flops_col else "--tokens-col", "--loss-col"), wanted))
    for role, name in roles.items():
        others = [other for other, col in roles.items() if col == name and other != role]
        if others:
            raise InputError(f"{role} and {others[0]} both name column {name!r}; each role needs its own column")
    missing = [name for name in wanted if name not in frame.columns]
    if missing:
        found = ", ".join(repr(str(c)) for c in frame.columns)
        raise InputError(
            f"runs {label!r} lack column(s) {', '.join(map(repr, missing))}; columns found: {found}"
        )
    lines = np.arange(len(frame)) + 2
    params = _column(frame, params_col, lines)
    if flops_col:
        tokens = _column(frame, flops_col, lines) / (6.0 * params)
    else:
        tokens = _column(frame, tokens_col, lines)
    runs = Runs(params, tokens, _column(frame, loss_col, lines), lines, label)
    return select_runs(runs, cutoff, exclude_highest_loss)


def select_runs(runs: Runs, cutoff: float | None = None, exclude_highest_loss: int = 0) -> Runs:
    """Keep runs with tokens/param <= cutoff, drop the K highest-loss runs, and check enough remain."""
    if cutoff is not None:
        runs = runs.subset(runs.tokens / runs.params <= cutoff * (1 + 1e-12))
    if exclude_highest_loss < 0:
        raise InputError(f"--exclude-highest-loss must be >= 0, got {exclude_highest_loss}")
    if exclude_highest_loss:
        order = np.argsort(runs.loss, kind="stable")
        runs = runs.subset(np.sort(order[: max(len(order) - exclude_highest_loss, 0)]))
    if len(runs) < N_PARAMS:
        raise InputError(
            f"only {len(runs)} run(s) left to fit (after filtering); the law has {N_PARAMS} parameters "
            f"and needs at least {N_PARAMS} runs"
        )
    check_identifiable(runs)
    return runs


def check_identifiable(runs: Runs) -> None:
    """Refuse runs that cannot pin down five coefficients: one size, one token count, < 6 distinct (N, D)."""
    points = np.unique(np.stack([runs.params, runs.tokens], axis=1), axis=0)
    if len(np.unique(np.stack([runs.params, runs.tokens, runs.loss], axis=1), axis=0)) == 1:
        raise InputError(f"all {len(runs)} runs are identical (N = {runs.params[0]:g}, D = {runs.tokens[0]:g}, "
                         f"loss = {runs.loss[0]:g}); a fit needs runs of different sizes and token counts")
    if len(np.unique(runs.params)) == 1:
        raise InputError(f"every run has the same model size N = {runs.params[0]:g}, so A and alpha cannot be "
                         "identified; add runs of other sizes")
    if len(np.unique(runs.tokens)) == 1:
        raise InputError(f"every run has the same token count D = {runs.tokens[0]:g}, so B and beta cannot be "
                         "identified; add runs with other token counts")
    if len(points) <= N_PARAMS:
        raise InputError(f"only {len(points)} distinct (N, D) points among {len(runs)} runs; five coefficients "
                         f"need at least {N_PARAMS + 1} distinct points")


