"""Scenario grids: quality x demand, solved and written chunk by chunk as CSV, JSON or Parquet.

A sweep takes a list of qualities (target losses, or Chinchilla model sizes whose loss is the target)
and a list of demands (lifetime inference tokens, or requests), forms every pair, and solves them
all at once with the compute or cost objective. The result is a table of equal-length columns whose
names follow the JSON keys of ``solve``: ``baseline_params``, ``optimal_tokens``, ``ratio_total_flops``...
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import IO

import numpy as np

from symscale.base.errors import InputError
from symscale.base.parallel import chunked, parallel_map
from symscale.laws.coefficients import Coefficients, resolve

QUALITY_KINDS = ("loss", "chinchilla_params", "target_score")
DEMAND_KINDS = ("inference_tokens", "requests")
MODEL_KEYS = ("params", "tokens", "tokens_per_param", "train_flops", "inference_flops", "total_flops")
COST_KEYS = ("train_cost", "prefill_cost", "decode_cost", "inference_cost", "total_cost")
RATIO_KEYS = ("params", "tokens", "total_flops")
MAX_GRID_COUNT = 10_000_000
_RANGE = re.compile(r"^([^:]+):([^:]+):([^:]+)$")


# --- grids -----------------------------------------------------------------------------------
def _number(text: str, what: str) -> float:
    from symscale.base.numbers import parse_number

    try:
        return parse_number(text)
    except ValueError as exc:
        raise InputError(f"{what}: {exc}") from None


def parse_grid(text: str, log: bool = False, name: str = "grid") -> np.ndarray:
    """Values from 'start:stop:count' (linear, or geometric with ``log``) or from 'a,b,c'; suffixes allowed."""
    text = str(text).strip()
    match = _RANGE.match(text)
    if match:
        return _range_grid(match.groups(), log, name)
    if ":" in text:
        raise InputError(f"{name} {text!r}: a range is start:stop:count, e.g. 1e9:1e13:50")
    values = [_number(part.strip(), f"{name} {text!r}") for part in text.split(",") if part.strip()]
    if not values:
        raise InputError(f"{name} is empty; give start:stop:count or a comma-separated list")
    return np.asarray(values, dtype=float)


def _range_grid(parts: tuple[str, str, str], log: bool, name: str) -> np.ndarray:
    """A linear or geometric range of ``count`` values from start to stop inclusive."""
    start, stop = (_number(p.strip(), f"{name} range") for p in parts[:2])
    count_text = parts[2].strip()
    if not re.fullmatch(r"\d+", count_text) or not count_text.strip("0"):
        raise InputError(f"{name}: count must be a positive whole number, got {_cut(count_text)!r}")
    digits = count_text.lstrip("0")
    if len(digits) > len(str(MAX_GRID_COUNT)) or int(digits) > MAX_GRID_COUNT:
        raise InputError(f"{name}: count {_cut(count_text)} is too large (at most {MAX_GRID_COUNT})")
    count = int(digits)
    if count == 1 and start != stop:
        raise InputError(f"{name} {start:g}:{stop:g}:1: a range of one value needs start = stop; "
                         "give a count of at least 2, or a single value")
    if log:
        if start <= 0 or stop <= 0:
            raise InputError(f"{name}: --log spacing needs positive start and stop, got {start:g}:{stop:g}")
        return np.geomspace(start, stop, count)
    return np.linspace(start, stop, count)


def _cut(text: str, keep: int = 30) -> str:
    """A long user string shortened for a message."""
    return text if len(text) <= keep else f"{text[:keep]}... ({len(text)} characters)"


def check_sweep_size(quality_count: int, demand_count: int, *, columns: int, output: str | None = None,
                     fmt: str = "csv", digits: int = 10, streamed: bool = False) -> None:
    """Refuse a grid whose table would not fit in memory (or, written to ``output``, on its disk), before solving.

    A ``streamed`` sweep (write_sweep) holds only the chunks in flight, so its memory does not grow with the grid.
    """
    from symscale.base.limits import check_disk, check_memory, size_text

    rows = int(quality_count) * int(demand_count)
    what = f"a sweep of {quality_count} x {demand_count} = {rows:.4g} scenarios"
    table = rows * (columns * 8 * BYTES_PER_CELL_FACTOR) + 64 * 2**20
    check_memory(min(table, stream_memory(columns)) if streamed else table, what)
    check_disk(rows * row_bytes(columns, fmt, digits), output, what)
    if rows > MAX_SWEEP_ROWS:
        raise InputError(f"{what} is more than one sweep writes (at most {MAX_SWEEP_ROWS:.0e} rows, about "
                         f"{size_text(MAX_SWEEP_ROWS * row_bytes(columns, fmt, digits))} of {fmt}): split the grid")


MAX_SWEEP_ROWS = 10**9
"""Rows one sweep writes at most: streaming bounds its memory, this bounds its time (about 20 CPU-minutes)."""


# Peak memory per table cell, in float64s: the columns, their intermediates in the solver and the stacked
# copy write_table formats (measured: ~4.5 for a 10^6-row compute or cost sweep).
BYTES_PER_CELL_FACTOR = 6


def row_bytes(columns: int, fmt: str = "csv", digits: int = 10, name_bytes: int = 18) -> int:
    """Bytes per written row: each number 'd.ddde+XX' and its separator (JSON adds quoted names)."""
    if fmt == "parquet":
        return columns * 8  # float64 columns (snappy leaves them about that size)
    number = digits + (digits > 1) + 4 + 1
    return columns * (number + (name_bytes + 4 if fmt == "json" else 0))


def losses_for(values: np.ndarray, kind: str, coefficients: Coefficients) -> np.ndarray:
    """Target losses from the quality axis: the values themselves, or the loss of Chinchilla models of that size."""
    from symscale.solvers.solve import chinchilla, loss_of

    values = np.asarray(values, dtype=float)
    if kind == "loss":
        return values
    if kind == "chinchilla_params":
        model = chinchilla(params=values, coefficients=coefficients)
        return loss_of(model.params, model.tokens, coefficients)
    raise InputError(f"unknown quality kind {kind!r}; use one of {', '.join(QUALITY_KINDS)}")


def score_losses(scores: np.ndarray, name: str, coefficients) -> tuple[np.ndarray, list[str]]:
    """The losses a score map of the coefficients predicts for target scores, and the warnings (each once)."""
    from symscale.laws.scores import target_from

    losses, warnings = [], []
    for score in np.asarray(scores, dtype=float).ravel():
        target = target_from(f"{name}={float(score)!r}", coefficients)
        losses.append(target.loss)
        warnings += [w for w in target.warnings if w not in warnings]
    return np.asarray(losses, dtype=float), warnings


# Hardware of the paper's Figure 6 and Table 3 (App. B.2 and B.3), as CostSettings keywords.
PAPER_COST_SETTINGS = {
    "train_gpu": "A100-80GB", "train_dtype": "bf16", "train_gpu_cost": 1.50,
    "inference_gpu": "A100-40GB", "inference_dtype": "int8", "inference_gpu_cost": 1.10,
    "train_mfu": 0.5, "prefill_mfu": 0.5, "decode_mfu": 0.01, "input_tokens": 70.0, "output_tokens": 215.0,
}


def cost_settings(**values):
    """CostSettings from keywords (imported lazily so the compute path never loads the cost module)."""
    from symscale.solvers.costs import CostSettings

    return CostSettings(**values)


# --- the table -------------------------------------------------------------------------------
class SweepTable(dict):
    """The sweep's ordered columns (name -> array); shown in a notebook as a pandas DataFrame."""

    def to_frame(self):
        """The table as a pandas DataFrame (one row per scenario)."""
        return to_frame(self)

    def _repr_html_(self) -> str:
        return self.to_frame()._repr_html_()


def sweep_table(quality, demand, *, quality_kind: str = "loss", demand_kind: str = "inference_tokens",
                objective: str = "compute", coefficients=None, settings=None,
                tokens_per_request: float | None = None) -> SweepTable:
    """Every (quality, demand) pair solved at once; ordered columns of equal length, quality-major.

    Compute objective: demand in inference tokens, or requests x ``tokens_per_request``.
    Cost objective: demand in requests, or inference tokens / (input + output tokens per request)
    of the cost ``settings`` (a ``symscale.solvers.costs.CostSettings``; defaults when None).
    """
    grid = sweep_grid(quality, demand, quality_kind=quality_kind, demand_kind=demand_kind, objective=objective,
                      coefficients=coefficients, settings=settings, tokens_per_request=tokens_per_request)
    return SweepTable(grid_rows(grid, 0, grid.rows))


@dataclass(frozen=True)
class SweepGrid:
    """A sweep before it is solved: its two axes and how to solve them (sent once to each worker)."""

    quality: np.ndarray
    losses: np.ndarray
    demand: np.ndarray
    quality_kind: str
    demand_kind: str
    objective: str
    coefficients: object
    settings: object
    tokens_per_request: float | None
    limits: object = None          # a Limits, or None: solved by the data-limited solver when set
    limited: bool = False          # a law in U or hard limits: solved row by row (scenarios/sweep_limited.py)
    reference: tuple | None = None  # (params, tokens) per quality value: the models of --quality-of

    @property
    def rows(self) -> int:
        return int(self.quality.size * self.demand.size)


def sweep_grid(quality, demand, *, quality_kind: str = "loss", demand_kind: str = "inference_tokens",
               objective: str = "compute", coefficients=None, settings=None,
               tokens_per_request: float | None = None, limits=None, losses=None, reference=None) -> SweepGrid:
    """The grid of ``sweep_table`` with its axes checked, ready to be solved row range by row range.

    ``limits`` (a symscale.laws.limits.Limits) or a law in U routes the rows to the data-limited solver;
    ``losses`` gives the target losses of a quality axis that is not a loss (e.g. target scores);
    ``reference`` the (params, tokens) of a model per quality value (--quality-of), priced beside each row.
    """
    coefficients = resolve(coefficients)
    quality = np.asarray(quality, dtype=float).ravel()
    demand = np.asarray(demand, dtype=float).ravel()
    if demand_kind not in DEMAND_KINDS:
        raise InputError(f"unknown demand kind {demand_kind!r}; use one of {', '.join(DEMAND_KINDS)}")
    if objective not in ("compute", "cost"):
        raise InputError(f"unknown objective {objective!r}; use compute or cost")
    if losses is None:
        losses = losses_for(quality, quality_kind, coefficients)
    losses = np.asarray(losses, dtype=float).ravel()
    limited = bool(coefficients.law.uses_unique_tokens or (limits is not None and any(
        v is not None for v in (limits.unique_tokens, limits.max_epochs, limits.max_params))))
    if reference is not None:
        reference = tuple(np.asarray(a, dtype=float).ravel() for a in reference)
        if any(a.shape != quality.shape for a in reference):
            raise InputError("reference models: one (params, tokens) pair per quality value")
    return SweepGrid(quality, losses, demand, quality_kind, demand_kind, objective, coefficients, settings,
                     tokens_per_request, limits, limited, reference)


def grid_rows(grid: SweepGrid, start: int, stop: int) -> dict[str, np.ndarray]:
    """The table's rows start..stop-1 (quality-major), solved: the same numbers as in the whole table."""
    index = np.arange(start, stop, dtype=np.int64)
    q_index, d_index = np.divmod(index, grid.demand.size)
    columns: dict[str, np.ndarray] = {"loss": grid.losses[q_index]}
    if grid.quality_kind != "loss":
        columns[grid.quality_kind] = grid.quality[q_index]
    demand = grid.demand[d_index]
    if grid.limited:
        columns.update(_limited_rows(columns["loss"], demand, grid))
    elif grid.objective == "compute":
        columns.update(_compute_columns(columns["loss"], demand, grid.demand_kind, grid.tokens_per_request,
                                        grid.coefficients))
    else:
        columns.update(_cost_columns(columns["loss"], demand, grid.demand_kind, grid.settings, grid.coefficients))
    if grid.reference is not None:
        columns.update(_reference_columns(grid, q_index, columns))
    return columns


REFERENCE_KEYS = ("params", "tokens", "total_flops")
"""The --quality-of model's columns (reference_*, ratio_to_reference_*); the cost objective adds total_cost."""


def _reference_columns(grid: SweepGrid, q_index: np.ndarray, columns: dict) -> dict[str, np.ndarray]:
    """The --quality-of model of each row at that row's demand, and the optimum's ratios to it (as `solve`)."""
    from symscale.solvers.solve import Allocation, ComputeModel

    params, tokens = (a[q_index] for a in grid.reference)
    if grid.objective == "compute":
        model, keys = ComputeModel(params, tokens, columns["inference_tokens"]), REFERENCE_KEYS
    else:
        from symscale.solvers.costs import CostSettings, model_costs

        settings = grid.settings if grid.settings is not None else CostSettings()
        model = model_costs(Allocation(params, tokens), _with_requests(settings, columns["requests"]))
        keys = REFERENCE_KEYS + ("total_cost",)
    out = {f"reference_{key}": np.asarray(getattr(model, key), dtype=float).ravel() for key in keys}
    for key in keys:
        out[f"ratio_to_reference_{key}"] = columns[f"optimal_{key}"] / out[f"reference_{key}"]
    return out


def _limited_rows(loss, demand, grid: SweepGrid) -> dict[str, np.ndarray]:
    """Demand columns and the data-limited solver's columns (symscale.scenarios.sweep_limited) for these rows."""
    from symscale.scenarios.sweep_limited import limited_columns
    from symscale.solvers.solve import ComputeModel, check_non_negative

    check_non_negative(grid.demand_kind.replace("_", " "), demand)
    columns: dict[str, np.ndarray] = {}
    if grid.objective == "compute":
        from symscale.base.flops import INFERENCE_FLOPS_PER_PARAM_TOKEN, TRAIN_FLOPS_PER_PARAM_TOKEN

        if grid.demand_kind == "requests":
            if grid.tokens_per_request is None or not grid.tokens_per_request > 0:
                raise InputError("a demand in requests needs tokens per request (> 0) for the compute objective")
            columns["requests"] = demand
            demand = demand * grid.tokens_per_request
        columns["inference_tokens"] = demand
        weights = (float(TRAIN_FLOPS_PER_PARAM_TOKEN), INFERENCE_FLOPS_PER_PARAM_TOKEN * demand)

        def models(params, tokens):
            return ComputeModel(params, tokens, demand)
    else:
        from symscale.solvers.costs import CostSettings, model_costs
        from symscale.solvers.solve import Allocation

        settings = grid.settings if grid.settings is not None else CostSettings()
        per_request = settings.input_tokens + settings.output_tokens
        requests = demand if grid.demand_kind == "requests" else demand / per_request
        priced = _with_requests(settings, requests)
        columns.update(requests=requests, inference_tokens=requests * per_request)
        weights = tuple(np.asarray(w, dtype=float) for w in priced.weights())

        def models(params, tokens):
            return model_costs(Allocation(params, tokens), priced)
    columns.update(limited_columns(loss, columns["inference_tokens"], weights, grid.coefficients, grid.limits,
                                   models))
    return columns


def _compute_columns(loss, demand, demand_kind, tokens_per_request, coefficients) -> dict[str, np.ndarray]:
    """Demand and model columns for the compute objective (paper Eq. 3)."""
    from symscale.solvers.solve import check_non_negative, solve_compute_optimal

    check_non_negative(demand_kind.replace("_", " "), demand)
    columns: dict[str, np.ndarray] = {}
    if demand_kind == "requests":
        if tokens_per_request is None or not tokens_per_request > 0:
            raise InputError("a demand in requests needs tokens per request (> 0) for the compute objective")
        columns["requests"] = demand
        demand = demand * tokens_per_request
    columns["inference_tokens"] = demand
    solution = solve_compute_optimal(loss, demand, coefficients)
    columns.update(_model_columns(solution, MODEL_KEYS, RATIO_KEYS))
    return columns


def _cost_columns(loss, demand, demand_kind, settings, coefficients) -> dict[str, np.ndarray]:
    """Demand, model and cost columns for the cost objective (paper Eq. 6)."""
    from symscale.solvers.costs import CostSettings, solve_cost_optimal
    from symscale.solvers.solve import check_non_negative

    check_non_negative(demand_kind.replace("_", " "), demand)
    settings = settings if settings is not None else CostSettings()
    per_request = settings.input_tokens + settings.output_tokens
    requests = demand if demand_kind == "requests" else demand / per_request
    solution = solve_cost_optimal(loss, _with_requests(settings, requests), coefficients)
    columns = {"requests": requests, "inference_tokens": requests * per_request}
    columns.update(_model_columns(solution, MODEL_KEYS + COST_KEYS, RATIO_KEYS + ("total_cost",)))
    return columns


def _with_requests(settings, requests: np.ndarray):
    """The cost settings with an array of lifetime requests."""
    from dataclasses import replace

    return replace(settings, requests=requests)


def _model_columns(solution, model_keys: tuple[str, ...], ratio_keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """baseline_*, optimal_* and ratio_* columns from a solution object."""
    columns: dict[str, np.ndarray] = {}
    for side in ("baseline", "optimal"):
        model = getattr(solution, side)
        for key in model_keys:
            columns[f"{side}_{key}"] = np.asarray(getattr(model, key), dtype=float).ravel()
    ratio = solution.ratio
    for key in ratio_keys:
        columns[f"ratio_{key}"] = np.asarray(ratio[key], dtype=float).ravel()
    return columns


def to_frame(table: dict[str, np.ndarray]):
    """The table as a pandas DataFrame (one row per scenario)."""
    import pandas as pd

    return pd.DataFrame(table)


# --- writing ---------------------------------------------------------------------------------
CHUNK_ROWS = 10_000
PARALLEL_ROWS = 200_000


def table_format(path: str | None, as_json: bool = False) -> str:
    """'csv', 'json' or 'parquet' from the output file's extension (stdout: csv unless ``as_json``)."""
    from symscale.base.files import is_special

    suffixes = (".csv", ".json", ".parquet")
    if path is None or path == "-" or (is_special(path) and not str(path).lower().endswith(suffixes)):
        return "json" if as_json else "csv"  # stdout, /dev/null, /dev/full, a FIFO: csv unless --json
    lower = str(path).lower()
    if lower.endswith(".json"):
        return "json"
    if lower.endswith(".parquet"):
        if as_json:
            raise InputError(f"--json conflicts with the file name {path!r}: name it *.json, or drop --json")
        require_pyarrow(path)
        return "parquet"
    if lower.endswith(".csv"):
        if as_json:
            raise InputError(f"--json conflicts with the file name {path!r}: name it *.json, or drop --json")
        return "csv"
    raise InputError(f"cannot tell the format of {path!r}: name the file *.csv or *.json (or *.parquet)")


def write_table(table: dict[str, np.ndarray], handle: IO[str], fmt: str = "csv", *, meta: dict | None = None,
                digits: int = 10, progress: Callable[[int], None] | None = None) -> None:
    """Stream the table as CSV or JSON (rows as objects), in chunks, numbers as d.ddde+XX with ``digits`` digits.

    Numbers are formatted by numpy arithmetic on byte arrays (no per-number Python call), which keeps a
    million-row table to seconds; ``progress(rows)`` is called after each chunk.
    """
    names = list(table)
    data = np.column_stack([np.asarray(table[n], dtype=float) for n in names])
    if not np.all(np.isfinite(data)) or np.any(data < 0):
        raise InputError("the sweep produced values that are not finite and non-negative; narrow the grid")
    exp_width = 3 if wide_exponents(decimal_parts(data, digits)[1]) else 2
    if fmt == "csv":
        handle.write(",".join(names) + "\n")
        prefixes, ends, tail = [""] * len(names), [","] * (len(names) - 1) + ["\n"], ""
    elif fmt == "json":
        head = json.dumps({**(meta or {}), "columns": names}, allow_nan=False)[:-1]
        handle.write(head + ', "rows": [\n')
        prefixes = ["{" * (i == 0) + json.dumps(n) + ": " for i, n in enumerate(names)]
        ends, tail = [", "] * (len(names) - 1) + ["},\n"], "]}\n"
    else:
        raise InputError(f"unknown table format {fmt!r}; use csv or json")
    pieces = chunked(len(data), CHUNK_ROWS)
    jobs = [(data[piece], prefixes, ends, digits, exp_width) for piece in pieces]
    workers = 1 if len(data) < PARALLEL_ROWS else None   # a pool pays off only for large tables
    for n, text in enumerate(parallel_map(_format_job, jobs, workers)):
        text = text.decode("ascii")
        if tail and n == len(jobs) - 1:
            text = text[:-2] + "\n"  # the last JSON row takes no comma
        handle.write(text)
        if progress is not None:
            progress(len(jobs[n][0]))
    handle.write(tail)


def _format_job(job: tuple) -> bytes:
    """_format_rows on one (chunk, prefixes, ends, digits, exp_width) job (runs in a worker process)."""
    return _format_rows(*job)


def _exponents(values: np.ndarray) -> np.ndarray:
    """Decimal exponents of non-negative values (0 for zero), as log10 gives them (before rounding the mantissa)."""
    with np.errstate(divide="ignore"):
        exp = np.floor(np.log10(values))
    if not np.all(values > 0):
        exp[~(values > 0)] = 0  # log10(0) = -inf: a zero's exponent is 0
    return exp.astype(np.int64)


EXP_OFFSET = 400
with np.errstate(over="ignore"):
    _POW10 = 10.0 ** np.arange(-EXP_OFFSET, EXP_OFFSET + 1)
"""10.0 ** k for k = -400..400 (index k + EXP_OFFSET): the very numbers numpy's power gives, looked up."""


def decimal_parts(values: np.ndarray, digits: int) -> tuple[np.ndarray, np.ndarray]:
    """(mantissa, exponent) of non-negative floats in d.ddd form: the mantissa a whole float of ``digits`` digits.

    The exponent from log10 is corrected where rounding the mantissa crosses a decade (9.9999999996 -> 10).
    """
    values = values.ravel()
    exp = _exponents(values)
    scale = float(10 ** (digits - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        mant = np.rint(values / _POW10.take(exp + EXP_OFFSET) * scale)
        shift = (mant >= 10 * scale).astype(np.int64) - ((mant < scale) & (values > 0))
        moved = np.flatnonzero(shift)
        if moved.size:  # a decade crossed: the mantissa again, at the corrected exponent
            exp[moved] += shift[moved]
            mant[moved] = np.rint(values[moved] / _POW10.take(exp[moved] + EXP_OFFSET) * scale)
            mant[moved[~(values[moved] > 0)]] = 0
    return np.minimum(mant, 10 * scale - 1), exp


def wide_exponents(exp: np.ndarray) -> bool:
    """Whether some exponent needs three digits."""
    return exp.size > 0 and max(-int(exp.min()), int(exp.max())) >= 100


_GROUP = 5
_DIGIT_TABLE = np.array([list(f"{i:05d}".encode()) for i in range(10 ** _GROUP)], dtype=np.uint8)


def _digit_bytes(mant: np.ndarray, digits: int) -> np.ndarray:
    """The ``digits`` decimal digits of non-negative whole floats (< 2**53) as ASCII, from a 5-digit table.

    Float division and floor are exact here and much faster than int64 division.
    """
    groups = []
    mant = np.asarray(mant, dtype=float)
    for _ in range(0, digits, _GROUP):
        high = np.floor(mant / 10.0 ** _GROUP)
        groups.append(_DIGIT_TABLE[(mant - high * 10.0 ** _GROUP).astype(np.int32)])
        mant = high
    return np.concatenate(groups[::-1], axis=1)[:, -digits:]


def _scientific(values: np.ndarray, digits: int, exp_width: int, parts: tuple | None = None) -> np.ndarray:
    """Non-negative floats as fixed-width ASCII 'd.ddde+XX' rows, one per value (uint8 array, vectorised)."""
    mant, exp = decimal_parts(values, digits) if parts is None else parts
    mant_digits = _digit_bytes(mant, digits)
    out = np.empty((mant.size, digits + (digits > 1) + 2 + exp_width), dtype=np.uint8)
    out[:, 0] = mant_digits[:, 0]
    pos = 1
    if digits > 1:
        out[:, 1] = ord(".")
        out[:, 2:digits + 1] = mant_digits[:, 1:]
        pos = digits + 1
    out[:, pos:] = _exponent_table(exp_width)[exp + EXP_OFFSET]
    return out


@lru_cache(maxsize=4)
def _exponent_table(width: int) -> np.ndarray:
    """'e-400' ... 'e+400' as fixed-width ASCII rows (index: exponent + EXP_OFFSET)."""
    return np.array([list(f"e{'-' if k < 0 else '+'}{abs(k):0{width}d}"[:width + 2].encode())
                     for k in range(-EXP_OFFSET, EXP_OFFSET + 1)], dtype=np.uint8)


def _format_rows(chunk: np.ndarray, prefixes: list[str], ends: list[str], digits: int, exp_width: int,
                 parts: tuple | None = None) -> bytes:
    """One chunk of rows as bytes: per column, its prefix, the number and its separator.

    ``parts``: the chunk's decimal_parts, if already known.
    """
    out = np.empty(len(chunk) * _row_length(prefixes, ends, digits, exp_width), dtype=np.uint8)
    _format_into(out, chunk, prefixes, ends, digits, exp_width, parts)
    return out.tobytes()


def _number_width(digits: int, exp_width: int) -> int:
    return digits + (digits > 1) + 2 + exp_width


def _row_length(prefixes: list[str], ends: list[str], digits: int, exp_width: int) -> int:
    """Bytes of every row: numbers have a fixed width."""
    return sum(map(len, prefixes)) + sum(map(len, ends)) + len(ends) * _number_width(digits, exp_width)


def _format_into(out: np.ndarray, chunk: np.ndarray, prefixes: list[str], ends: list[str], digits: int,
                 exp_width: int, parts: tuple | None = None) -> None:
    """_format_rows into ``out`` (a uint8 array of exactly the rows' bytes)."""
    rows, cols = chunk.shape
    parts = decimal_parts(chunk, digits) if parts is None else parts
    if digits == 10 and exp_width == 2 and not any(prefixes) and all(len(end) == 1 for end in ends):
        _csv_cells(out.view(np.uint32).reshape(rows, cols, 4), parts, ends)
        return
    numbers = _scientific(chunk, digits, exp_width, parts).reshape(rows, cols, -1)
    width = numbers.shape[2]
    template, slots = bytearray(), []
    for j in range(cols):
        template += prefixes[j].encode()
        slots.append(len(template))
        template += b" " * width + ends[j].encode()
    out = out.reshape(rows, len(template))
    out[:] = np.frombuffer(bytes(template), dtype=np.uint8)
    for j, slot in enumerate(slots):
        out[:, slot:slot + width] = numbers[:, j, :]


def _word_table(texts: list[str]) -> np.ndarray:
    """Four-character ASCII strings as native uint32 words (their bytes in memory order)."""
    return np.frombuffer("".join(texts).encode("ascii"), dtype=np.uint32).copy()


_LEAD = _word_table([f"{i // 100}.{i % 100:02d}" for i in range(1000)])          # 'd.dd': digits 1-3
_MIDDLE = _word_table([f"{i:04d}" for i in range(10_000)])                       # digits 4-7
_LAST = _word_table([f"{i:03d}e" for i in range(1000)])                          # digits 8-10 and 'e'


@lru_cache(maxsize=8)
def _exponent_words(end: str) -> np.ndarray:
    """'+XX' / '-XX' and the cell's one-character separator as uint32 words (index: exponent + EXP_OFFSET)."""
    return _word_table([f"{'-' if k < 0 else '+'}{abs(k):02d}"[:3] + end for k in range(-EXP_OFFSET, EXP_OFFSET + 1)])


def _csv_cells(out: np.ndarray, parts: tuple, ends: list[str]) -> None:
    """Rows of 10-digit numbers with 2-digit exponents, each cell 16 bytes ('d.ddddddddde+XX' and its separator),
    written into ``out`` (rows x columns x 4 uint32) as four 32-bit words a cell from digit tables: the bytes of
    the general path, several times faster."""
    mant, exp = parts
    rows, cols = out.shape[:2]
    mant, exp = mant.reshape(rows, cols), exp.reshape(rows, cols)
    high = np.floor(mant / 1e7)                    # digits 1-3
    low = mant - high * 1e7                        # digits 4-10
    middle = np.floor(low / 1e3)                   # digits 4-7
    last = low - middle * 1e3                      # digits 8-10
    out[:, :, 0] = _LEAD.take(high.astype(np.intp))
    out[:, :, 1] = _MIDDLE.take(middle.astype(np.intp))
    out[:, :, 2] = _LAST.take(last.astype(np.intp))
    for j, end in enumerate(ends):
        out[:, j, 3] = _exponent_words(end).take(exp[:, j] + EXP_OFFSET)


# --- streaming: solve, format and write chunk by chunk ------------------------------------------
STREAM_ROWS = 65_536
"""Rows per chunk of a streamed sweep (solved and formatted in a worker, then written; one Parquet row group)."""
STREAM_AHEAD = 2
"""Chunks per worker solved ahead of the writer: memory is bounded by (workers x STREAM_AHEAD) chunks."""
_GRID: SweepGrid | None = None


def stream_memory(columns: int) -> float:
    """Bytes a streamed sweep holds at most: the chunks in flight, each with its solver temporaries and text."""
    import os

    in_flight = (os.cpu_count() or 1) * (STREAM_AHEAD + 1) + 1
    return in_flight * STREAM_ROWS * columns * 8 * (BYTES_PER_CELL_FACTOR + 3) + 64 * 2**20


def write_sweep(grid: SweepGrid, handle: IO, fmt: str = "csv", *, meta: dict | None = None, digits: int = 10,
                progress: Callable[[int], None] | None = None, restartable: bool = False,
                workers: int | None = None) -> None:
    """Solve and write the grid chunk by chunk (CSV, JSON or Parquet), in parallel, in bounded memory.

    The text is byte for byte what ``write_table(sweep_table(...))`` writes. Exponents take 2 digits unless
    a number needs 3: a ``restartable`` handle (a file of ours) is then rewritten from its start; any other
    (stdout) gets a first pass that solves every chunk without writing, so nothing is written before every
    value is known good. ``progress(rows)`` follows the rows written.
    """
    if fmt == "parquet":
        return _write_parquet(grid, handle, progress, workers)
    wide = None if restartable else _scan_wide(grid, workers, digits)
    for width in ((3,) if wide else (2, 3)):
        if _write_text(grid, handle, fmt, meta, digits, width, progress, workers, strict=wide is None):
            return
        handle.seek(0)
        handle.truncate()
    raise AssertionError("unreachable: three exponent digits hold every float64")  # pragma: no cover


def _pieces(grid: SweepGrid) -> list[tuple[int, int]]:
    return [(start, min(start + STREAM_ROWS, grid.rows)) for start in range(0, grid.rows, STREAM_ROWS)]


def _jobs(grid: SweepGrid, workers: int | None, job: Callable, items: list) -> Iterator:
    """``job(item)`` over items in worker processes that each receive the grid once (one process for small grids)."""
    from symscale.base.parallel import bounded_map

    if grid.rows < PARALLEL_ROWS:
        workers = 1
    return bounded_map(job, items, workers, ahead=STREAM_AHEAD, setup=_set_grid, setup_args=(grid,))


def _set_grid(grid: SweepGrid) -> None:
    global _GRID
    _GRID = grid


def _solved_chunk(start: int, stop: int) -> tuple[list[str], np.ndarray]:
    """Rows start..stop-1 of the worker's grid as (names, 2-D float array), refused unless finite and >= 0."""
    table = grid_rows(_GRID, start, stop)
    data = np.column_stack([np.asarray(v, dtype=float) for v in table.values()])
    _check_values(data)
    return list(table), data


def _check_values(data: np.ndarray) -> None:
    """Refuse a solved chunk holding a value that is not finite or is negative."""
    if not np.all(np.isfinite(data)) or np.any(data < 0):
        raise InputError("the sweep produced values that are not finite and non-negative; narrow the grid")


def _wide_job(job: tuple[tuple[int, int], int]) -> bool:
    """Whether a chunk holds a number whose decimal exponent (printed with ``digits`` digits) needs 3 digits."""
    piece, digits = job
    _, data = _solved_chunk(*piece)
    return wide_exponents(decimal_parts(data, digits)[1])


def _scan_wide(grid: SweepGrid, workers: int | None, digits: int) -> bool:
    """First pass for a handle that cannot be rewritten: every chunk solved and checked, nothing written."""
    if grid.rows <= STREAM_ROWS:
        return _wide_grid_small(grid, digits)
    return any(list(_jobs(grid, workers, _wide_job, [(piece, digits) for piece in _pieces(grid)])))


def _wide_grid_small(grid: SweepGrid, digits: int) -> bool:
    _set_grid(grid)
    return _wide_job(((0, grid.rows), digits))


FORMAT_BLOCK = 4096
"""Rows formatted at a time inside a chunk: the formatter's temporaries stay in the CPU cache."""


def _text_job(job: tuple) -> tuple[bytes, bool, int]:
    """One chunk solved and formatted: (text, whether it needed a wider exponent than ``width``, rows)."""
    (start, stop), fmt, names_prefixes, ends, digits, width = job
    _, data = _solved_chunk(start, stop)
    row = _row_length(names_prefixes, ends, digits, width)
    text = bytearray(len(data) * row)
    out = np.frombuffer(text, dtype=np.uint8)
    for block in range(0, len(data), FORMAT_BLOCK):  # cache-sized blocks of rows, formatted in place
        rows = data[block:block + FORMAT_BLOCK]
        parts = decimal_parts(rows, digits)
        if width < 3 and wide_exponents(parts[1]):
            return b"", True, stop - start
        _format_into(out[block * row:(block + len(rows)) * row], rows, names_prefixes, ends, digits, width, parts)
    del out  # the text may be resized by its reader only once no array views it
    return text, False, stop - start


def _text_layout(names: list[str], fmt: str, meta: dict | None) -> tuple[str, list[str], list[str], str]:
    """(head, per-column prefixes, per-column ends, tail) of a CSV or JSON table, as write_table lays it out."""
    if fmt == "csv":
        return ",".join(names) + "\n", [""] * len(names), [","] * (len(names) - 1) + ["\n"], ""
    if fmt == "json":
        head = json.dumps({**(meta or {}), "columns": names}, allow_nan=False)[:-1] + ', "rows": [\n'
        prefixes = ["{" * (i == 0) + json.dumps(n) + ": " for i, n in enumerate(names)]
        return head, prefixes, [", "] * (len(names) - 1) + ["},\n"], "]}\n"
    raise InputError(f"unknown table format {fmt!r}; use csv or json")


def _write_text(grid: SweepGrid, handle: IO[str], fmt: str, meta: dict | None, digits: int, width: int,
                progress: Callable[[int], None] | None, workers: int | None, strict: bool) -> bool:
    """Write the whole table with ``width`` exponent digits; False (stop) when a chunk needs more."""
    names = list(grid_rows(grid, 0, min(1, grid.rows)))
    head, prefixes, ends, tail = _text_layout(names, fmt, meta)
    handle.write(head)
    raw = getattr(handle, "buffer", None)  # a real file: its bytes go straight below the text layer
    if raw is not None:
        handle.flush()
    pieces = _pieces(grid)
    jobs = [(piece, fmt, prefixes, ends, digits, width) for piece in pieces]
    results = _jobs(grid, workers, _text_job, jobs)
    for n, (text, wider, rows) in enumerate(results):
        if wider:
            results.close()
            return False
        if tail and n == len(jobs) - 1:
            text = text[:-2] + b"\n"  # the last JSON row takes no comma
        if raw is not None:
            raw.write(text)
        else:
            handle.write(text.decode("ascii"))
        if progress is not None:
            progress(rows)
    handle.write(tail)
    return True


def _table_job(piece: tuple[int, int]) -> tuple[list[str], np.ndarray]:
    """One chunk solved, as (names, columns): a (columns x rows) array, each column contiguous for pyarrow."""
    table = grid_rows(_GRID, *piece)
    columns = np.stack([np.asarray(v, dtype=float) for v in table.values()])
    _check_values(columns)
    return list(table), columns


PARQUET_EXTRA = "pip install 'symscale[parquet]'"


def require_pyarrow(path: str):
    """pyarrow.parquet, or one InputError naming the optional extra that provides it."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"writing {path!r} as Parquet needs pyarrow, the optional extra symscale[parquet]: "
                         f"{PARQUET_EXTRA}") from None
    return pq


def _write_parquet(grid: SweepGrid, handle: IO[bytes], progress, workers) -> None:
    """The table as Apache Parquet (float64 columns), one row group per chunk.

    No dictionary encoding: most columns hold a distinct value per row, and trying a dictionary on each
    before falling back cost most of the writer's time; snappy still packs the repeated (quality) columns.
    """
    import pyarrow as pa

    pq = require_pyarrow(getattr(handle, "name", "output"))
    writer = None
    try:
        for names, columns in _jobs(grid, workers, _table_job, _pieces(grid)):
            table = pa.Table.from_arrays([pa.array(column) for column in columns], names=names)
            if writer is None:
                writer = pq.ParquetWriter(handle, table.schema, compression="snappy", use_dictionary=False)
            writer.write_table(table, row_group_size=table.num_rows)
            if progress is not None:
                progress(table.num_rows)
    finally:
        if writer is not None:
            writer.close()
