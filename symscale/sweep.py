"""Scenario grids: quality x demand, solved in one vectorised call and written as CSV or JSON.

A sweep takes a list of qualities (target losses, or Chinchilla model sizes whose loss is the target)
and a list of demands (lifetime inference tokens, or requests), forms every pair, and solves them
all at once with the compute or cost objective. The result is a table of equal-length columns whose
names follow the JSON keys of ``solve``: ``baseline_params``, ``optimal_tokens``, ``ratio_total_flops``...
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import IO

import numpy as np

from .coefficients import Coefficients, resolve
from .errors import InputError
from .parallel import chunked, parallel_map

QUALITY_KINDS = ("loss", "chinchilla_params")
DEMAND_KINDS = ("inference_tokens", "requests")
MODEL_KEYS = ("params", "tokens", "tokens_per_param", "train_flops", "inference_flops", "total_flops")
COST_KEYS = ("train_cost", "prefill_cost", "decode_cost", "inference_cost", "total_cost")
RATIO_KEYS = ("params", "tokens", "total_flops")
MAX_GRID_COUNT = 10_000_000
_RANGE = re.compile(r"^([^:]+):([^:]+):([^:]+)$")


# --- grids -----------------------------------------------------------------------------------
def _number(text: str, what: str) -> float:
    from .cli.common import parse_number

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
                     fmt: str = "csv", digits: int = 10) -> None:
    """Refuse a grid whose table would not fit in memory (or, written to ``output``, on its disk), before solving."""
    from .limits import check_disk, check_memory

    rows = int(quality_count) * int(demand_count)
    what = f"a sweep of {quality_count} x {demand_count} = {rows:.4g} scenarios"
    check_memory(rows * (columns * 8 * BYTES_PER_CELL_FACTOR) + 64 * 2**20, what)
    check_disk(rows * row_bytes(columns, fmt, digits), output, what)


# Peak memory per table cell, in float64s: the columns, their intermediates in the solver and the stacked
# copy write_table formats (measured: ~4.5 for a 10^6-row compute or cost sweep).
BYTES_PER_CELL_FACTOR = 6


def row_bytes(columns: int, fmt: str = "csv", digits: int = 10, name_bytes: int = 18) -> int:
    """Bytes per written row: each number 'd.ddde+XX' and its separator (JSON adds quoted names)."""
    number = digits + (digits > 1) + 4 + 1
    return columns * (number + (name_bytes + 4 if fmt == "json" else 0))


def losses_for(values: np.ndarray, kind: str, coefficients: Coefficients) -> np.ndarray:
    """Target losses from the quality axis: the values themselves, or the loss of Chinchilla models of that size."""
    from .solve import chinchilla, loss_of

    values = np.asarray(values, dtype=float)
    if kind == "loss":
        return values
    if kind == "chinchilla_params":
        model = chinchilla(params=values, coefficients=coefficients)
        return loss_of(model.params, model.tokens, coefficients)
    raise InputError(f"unknown quality kind {kind!r}; use one of {', '.join(QUALITY_KINDS)}")


# Hardware of the paper's Figure 6 and Table 3 (App. B.2 and B.3), as CostSettings keywords.
PAPER_COST_SETTINGS = {
    "train_gpu": "A100-80GB", "train_dtype": "bf16", "train_gpu_cost": 1.50,
    "inference_gpu": "A100-40GB", "inference_dtype": "int8", "inference_gpu_cost": 1.10,
    "train_mfu": 0.5, "prefill_mfu": 0.5, "decode_mfu": 0.01, "input_tokens": 70.0, "output_tokens": 215.0,
}


def cost_settings(**values):
    """CostSettings from keywords (imported lazily so the compute path never loads the cost module)."""
    from .costs import CostSettings

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
    of the cost ``settings`` (a ``symscale.costs.CostSettings``; defaults when None).
    """
    coefficients = resolve(coefficients)
    quality = np.asarray(quality, dtype=float).ravel()
    demand = np.asarray(demand, dtype=float).ravel()
    if demand_kind not in DEMAND_KINDS:
        raise InputError(f"unknown demand kind {demand_kind!r}; use one of {', '.join(DEMAND_KINDS)}")
    losses = losses_for(quality, quality_kind, coefficients)
    q_index, d_index = np.meshgrid(np.arange(quality.size), np.arange(demand.size), indexing="ij")
    q_index, d_index = q_index.ravel(), d_index.ravel()
    columns: dict[str, np.ndarray] = {"loss": losses[q_index]}
    if quality_kind != "loss":
        columns[quality_kind] = quality[q_index]
    if objective == "compute":
        columns.update(_compute_columns(columns["loss"], demand[d_index], demand_kind, tokens_per_request,
                                        coefficients))
    elif objective == "cost":
        columns.update(_cost_columns(columns["loss"], demand[d_index], demand_kind, settings, coefficients))
    else:
        raise InputError(f"unknown objective {objective!r}; use compute or cost")
    return SweepTable(columns)


def _compute_columns(loss, demand, demand_kind, tokens_per_request, coefficients) -> dict[str, np.ndarray]:
    """Demand and model columns for the compute objective (paper Eq. 3)."""
    from .solve import check_non_negative, solve_compute_optimal

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
    from .costs import CostSettings, solve_cost_optimal
    from .solve import check_non_negative

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
    """'csv' or 'json' from the output file's extension (stdout: csv unless ``as_json``)."""
    from .atomic import is_special

    if path is None or path == "-" or (is_special(path) and not str(path).lower().endswith((".csv", ".json"))):
        return "json" if as_json else "csv"  # stdout, /dev/null, /dev/full, a FIFO: csv unless --json
    lower = str(path).lower()
    if lower.endswith(".json"):
        return "json"
    if lower.endswith(".csv"):
        if as_json:
            raise InputError(f"--json conflicts with the file name {path!r}: name it *.json, or drop --json")
        return "csv"
    raise InputError(f"cannot tell the format of {path!r}: name the file *.csv or *.json")


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
    exp_width = 3 if np.any(np.abs(_exponents(data)) >= 100) else 2
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
    """Decimal exponents of non-negative values (0 for zero)."""
    safe = np.where(values > 0, values, 1.0)
    return np.floor(np.log10(safe)).astype(np.int64)


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


def _scientific(values: np.ndarray, digits: int, exp_width: int) -> np.ndarray:
    """Non-negative floats as fixed-width ASCII 'd.ddde+XX' rows, one per value (uint8 array, vectorised)."""
    values = values.ravel()
    positive = values > 0
    exp = _exponents(values)
    scale = 10 ** (digits - 1)
    mant = np.rint(values / 10.0 ** exp * scale)
    exp = exp + (mant >= 10 * scale) - ((mant < scale) & positive)  # log10 rounding at decade edges
    mant = np.minimum(np.where(positive, np.rint(values / 10.0 ** exp * scale), 0), 10 * scale - 1)
    mant_digits = _digit_bytes(mant, digits)
    out = np.empty((values.size, digits + (digits > 1) + 2 + exp_width), dtype=np.uint8)
    out[:, 0] = mant_digits[:, 0]
    pos = 1
    if digits > 1:
        out[:, 1] = ord(".")
        out[:, 2:digits + 1] = mant_digits[:, 1:]
        pos = digits + 1
    out[:, pos:] = _exponent_table(exp_width)[exp + EXP_OFFSET]
    return out


EXP_OFFSET = 400


@lru_cache(maxsize=4)
def _exponent_table(width: int) -> np.ndarray:
    """'e-400' ... 'e+400' as fixed-width ASCII rows (index: exponent + EXP_OFFSET)."""
    return np.array([list(f"e{'-' if k < 0 else '+'}{abs(k):0{width}d}"[:width + 2].encode())
                     for k in range(-EXP_OFFSET, EXP_OFFSET + 1)], dtype=np.uint8)


def _format_rows(chunk: np.ndarray, prefixes: list[str], ends: list[str], digits: int, exp_width: int) -> bytes:
    """One chunk of rows as bytes: per column, its prefix, the number and its separator."""
    rows, cols = chunk.shape
    numbers = _scientific(chunk, digits, exp_width).reshape(rows, cols, -1)
    width = numbers.shape[2]
    template, slots = bytearray(), []
    for j in range(cols):
        template += prefixes[j].encode()
        slots.append(len(template))
        template += b" " * width + ends[j].encode()
    out = np.empty((rows, len(template)), dtype=np.uint8)
    out[:] = np.frombuffer(bytes(template), dtype=np.uint8)
    for j, slot in enumerate(slots):
        out[:, slot:slot + width] = numbers[:, j, :]
    return out.tobytes()
