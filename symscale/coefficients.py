"""Coefficients of the Chinchilla law L(N, D) = E + A/N**alpha + B/D**beta: presets and files."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from .datafiles import data_path
from .errors import InputError

NAMES = ("alpha", "beta", "A", "B", "E")

DOMAIN = {"alpha": (1e-3, 10.0), "beta": (1e-3, 10.0), "A": (1e-100, 1e100), "B": (1e-100, 1e100), "E": (0.0, 1e100)}
"""Accepted coefficient values. Published fits have exponents of 0.05-1 and scales of 1e1-1e4; within these
bounds 1/alpha, beta/alpha and the scales times those ratios stay far inside float64, so the solvers work in
log space without overflow. Outside them no law is plausible and the arithmetic (e.g. 1/alpha at alpha = 1e-320)
is not representable."""


def domain_text(key: str) -> str:
    """The accepted range of one coefficient, for --help and error messages."""
    low, high = DOMAIN[key]
    return f"[{low:g}, {high:g}]"


def check_domain(coefficients: Coefficients) -> None:
    """Refuse coefficients outside DOMAIN, naming the coefficient, its value and where it came from."""
    for key in NAMES:
        value = float(getattr(coefficients, key))
        low, high = DOMAIN[key]
        if not low <= value <= high:
            raise InputError(f"coefficient {key} = {value:g} ({coefficients.name}) is outside its domain "
                             f"{domain_text(key)}: no plausible law has it, and float64 cannot represent the solution")


@dataclass(frozen=True)
class Coefficients:
    """One set of law coefficients, with where it came from.

    ``samples`` optionally holds bootstrap replicates (name -> 1-D array of equal length),
    so that uncertainty can be carried through the solver.
    """

    alpha: float
    beta: float
    A: float
    B: float
    E: float
    name: str = "custom"
    source: str = ""
    samples: dict | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        for key in NAMES:
            value = getattr(self, key)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InputError(f"coefficient {key} must be a finite number, got {value!r}")
            if key != "E" and value <= 0:
                raise InputError(f"coefficient {key} must be > 0, got {value}")
        if self.E < 0:
            raise InputError(f"coefficient E must be >= 0, got {self.E}")

    def as_dict(self) -> dict[str, float]:
        """The five coefficients as a plain dict (the JSON shape used everywhere)."""
        return {key: float(getattr(self, key)) for key in NAMES}

    def with_values(self, **values: float) -> Coefficients:
        """A copy with some coefficients replaced (marked as custom)."""
        return replace(self, name="custom", source=f"{self.name} with {values}", samples=None, **values)

    def describe(self) -> str:
        """One line: the five values, as the reference scripts print them."""
        return "  ".join(f"{key} = {getattr(self, key):.6g}" for key in NAMES)


@lru_cache(maxsize=1)
def presets() -> dict[str, Coefficients]:
    """All presets from ``data/coefficients.csv``, keyed by name."""
    with open(data_path("coefficients.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        row["name"]: Coefficients(
            **{key: float(row[key]) for key in NAMES}, name=row["name"], source=row["source"]
        )
        for row in rows
    }


def preset(name: str = "chinchilla") -> Coefficients:
    """A preset by name (case-insensitive)."""
    table = presets()
    key = name.strip().lower()
    if key not in table:
        raise InputError(f"unknown coefficient preset {name!r}; known presets: {', '.join(table)}")
    return table[key]


def load_coefficients(path: str | Path) -> Coefficients:
    """Read a coefficients JSON file (as written by ``symscale fit --out``).

    The file is one object with keys alpha, beta, A, B, E (numbers), optionally ``name``,
    ``source`` and ``bootstrap`` (an object of equal-length lists, one per coefficient).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"coefficients file {str(path)!r} not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"coefficients file {str(path)!r} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"coefficients file {str(path)!r} must hold one JSON object")
    if isinstance(data.get("coefficients"), dict):  # accept `fit --json` output as well
        data = {**data["coefficients"], **{k: v for k, v in data.items() if k == "bootstrap"}}
    missing = [key for key in NAMES if key not in data]
    if missing:
        raise InputError(
            f"coefficients file {str(path)!r} lacks {', '.join(missing)}; it needs alpha, beta, A, B, E"
        )
    values = {}
    for key in NAMES:
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"coefficients file {str(path)!r}: {key} must be a number, got {value!r}")
        values[key] = float(value)
    samples = _read_samples(data.get("bootstrap"), path)
    return Coefficients(
        **values, name=str(data.get("name", path.stem)), source=str(data.get("source", str(path))),
        samples=samples,
    )


def _read_samples(raw: object, path: Path) -> dict | None:
    """Bootstrap replicates from a coefficients file, validated; None when absent."""
    if raw is None:
        return None
    if isinstance(raw, dict) and "samples" in raw:
        raw = raw["samples"]
    if not isinstance(raw, dict) or any(key not in raw for key in NAMES):
        raise InputError(f"coefficients file {str(path)!r}: bootstrap must list samples of alpha, beta, A, B, E")
    try:
        samples = {key: np.asarray(raw[key], dtype=float) for key in NAMES}
    except (TypeError, ValueError):
        raise InputError(f"coefficients file {str(path)!r}: bootstrap samples must be numbers") from None
    sizes = {arr.shape for arr in samples.values()}
    if len(sizes) != 1 or len(next(iter(sizes))) != 1 or not all(np.all(np.isfinite(a)) for a in samples.values()):
        raise InputError(f"coefficients file {str(path)!r}: bootstrap samples must be finite lists of equal length")
    return samples


def save_coefficients(coefficients: Coefficients, path: str | Path, extra: dict | None = None) -> None:
    """Write a coefficients JSON file that ``load_coefficients`` (and ``solve --coefficients``) reads."""
    data: dict = {**coefficients.as_dict(), "name": coefficients.name, "source": coefficients.source}
    if coefficients.samples is not None:
        data["bootstrap"] = {key: np.asarray(v, dtype=float).tolist() for key, v in coefficients.samples.items()}
    data.update(extra or {})
    Path(path).write_text(json.dumps(data, indent=2) + "\n")


def resolve(spec: str | Path | Coefficients | None) -> Coefficients:
    """Coefficients from a preset name, a JSON path, an existing object, or None (chinchilla)."""
    if spec is None:
        return preset("chinchilla")
    if isinstance(spec, Coefficients):
        return spec
    text = str(spec)
    if text.lower().endswith(".json") or Path(text).is_file():
        return load_coefficients(text)
    return preset(text)
