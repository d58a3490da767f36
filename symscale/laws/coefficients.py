"""Coefficients of the Chinchilla law L(N, D) = E + A/N**alpha + B/D**beta: presets and files."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from symscale.base.datafiles import parsed, read_rows
from symscale.base.errors import InputError
from symscale.laws.ranges import FittedRange

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
    so that uncertainty can be carried through the solver; ``samples_excluded`` counts replicates
    left out when the file was read (``{"not_converged": k}``).
    """

    alpha: float
    beta: float
    A: float
    B: float
    E: float
    name: str = "custom"
    source: str = ""
    samples: dict | None = field(default=None, compare=False, repr=False)
    samples_excluded: dict | None = field(default=None, compare=False, repr=False)  # reason -> count, at read
    fitted_range: FittedRange | None = field(default=None, compare=False, repr=False)  # runs it was fitted on
    score_maps: dict | None = field(default=None, compare=False, repr=False)  # name -> symscale.laws.scores.ScoreMap

    def __post_init__(self) -> None:
        for key in NAMES:
            value = getattr(self, key)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InputError(f"coefficient {key} must be a finite number, got {value!r}")
            if key != "E" and value <= 0:
                raise InputError(f"coefficient {key} must be > 0, got {value}")
        if self.E < 0:
            raise InputError(f"coefficient E must be >= 0, got {self.E}")

    @property
    def law(self):
        """The Chinchilla law (symscale.laws), whose coefficients these are."""
        from symscale.laws.registry import CHINCHILLA

        return CHINCHILLA

    @property
    def values(self) -> dict[str, float]:
        return self.as_dict()

    def as_dict(self) -> dict[str, float]:
        """The five coefficients as a plain dict (the JSON shape used everywhere)."""
        return {key: float(getattr(self, key)) for key in NAMES}

    def with_values(self, **values: float) -> Coefficients:
        """A copy with some coefficients replaced (marked as custom)."""
        return replace(self, name="custom", source=f"{self.name} with {values}", samples=None,
                       samples_excluded=None, **values)

    def describe(self) -> str:
        """One line: the five values, as the reference scripts print them."""
        return "  ".join(f"{key} = {getattr(self, key):.6g}" for key in NAMES)


@lru_cache(maxsize=1)
def presets() -> dict[str, Coefficients]:
    """All presets from ``data/coefficients.csv``, keyed by name."""
    rows = read_rows("coefficients.csv", ("name", *NAMES, "source"))

    def build(row: dict) -> Coefficients:
        return Coefficients(**{key: float(row[key]) for key in NAMES}, name=row["name"], source=row["source"],
                            fitted_range=FittedRange.from_row(row))

    return {c.name: c for c in parsed("coefficients.csv", rows, build)}


def preset(name: str = "chinchilla") -> Coefficients:
    """A preset by name (case-insensitive)."""
    table = presets()
    key = name.strip().lower()
    if key not in table:
        from symscale.base.files import shown

        raise InputError(f"unknown coefficient preset {shown(name)}; known presets: {', '.join(table)}")
    return table[key]


MAX_FILE_BYTES = 64 * 2**20  # a file of 100,000 bootstrap replicates is about 12 MB


def _read_json(path: Path) -> object:
    """The parsed JSON of a coefficients file, read with a size and format check (one-line InputError otherwise)."""
    from symscale.base.files import read_user_text

    where = f"coefficients file {str(path)!r}"
    text = read_user_text(path, "coefficients file")
    try:
        return json.loads(text)
    except RecursionError:
        raise InputError(f"{where} is not valid JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError and the int-digits limit are ValueErrors
        raise InputError(f"{where} is not valid JSON: {str(exc).splitlines()[0]}") from None


def _number(value: object, what: str) -> float:
    """A JSON number as a float; InputError for anything else (bool, string, list, an int beyond float range)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{what} must be a number, got {_short(value)}")
    try:
        return float(value)
    except OverflowError:
        raise InputError(f"{what} is beyond floating-point range ({len(str(abs(value)))}-digit integer)") from None


def _short(value: object) -> str:
    """repr of a value, cut to 60 characters for a one-line message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def load_coefficients(path: str | Path, include_unconverged: bool = False) -> Coefficients:
    """Read a coefficients JSON file (see :func:`_load_coefficients`), with its ``score_maps`` when present."""
    loaded = _load_coefficients(path, include_unconverged)
    data = _read_json(Path(path))
    if isinstance(data, dict) and "score_maps" in data:
        from symscale.laws.scores import read_score_maps

        boot = data.get("bootstrap")
        converged = boot.get("converged") if isinstance(boot, dict) and not include_unconverged else None
        maps = read_score_maps(data["score_maps"], f"coefficients file {str(path)!r}", converged)
        loaded = replace(loaded, score_maps=maps)
    return loaded


def _load_coefficients(path: str | Path, include_unconverged: bool = False) -> Coefficients:
    """Read a coefficients JSON file (as written by ``symscale fit --output``).

    The file is one object with keys alpha, beta, A, B, E (numbers), optionally ``name``,
    ``source`` and ``bootstrap`` (an object of equal-length lists, one per coefficient, and
    optionally ``converged``, a list of booleans). Replicates marked as not converged are left out
    unless ``include_unconverged``.
    """

    path = Path(path)
    data = _read_json(path)
    if not isinstance(data, dict):
        raise InputError(f"coefficients file {str(path)!r} must hold one JSON object")
    if "law" in data:
        law_coefficients = _law_file(data, path, include_unconverged)
        if law_coefficients is not None:
            return law_coefficients
    if isinstance(data.get("coefficients"), dict):  # accept `fit --json` output as well
        boot = data.get("bootstrap")
        has_samples = isinstance(boot, dict) and ("samples" in boot or "alpha" in boot)  # not the summary
        data = {**data["coefficients"], **({"bootstrap": boot} if has_samples else {})}
    missing = [key for key in NAMES if key not in data]
    if missing:
        raise InputError(
            f"coefficients file {str(path)!r} lacks {', '.join(missing)}; it needs alpha, beta, A, B, E"
        )
    values = {key: _number(data[key], f"coefficients file {str(path)!r}: {key}") for key in NAMES}
    samples, excluded = _read_samples(data.get("bootstrap"), path, include_unconverged)
    return Coefficients(
        **values, name=str(data.get("name", path.stem)), source=str(data.get("source", str(path))),
        samples=samples, samples_excluded=excluded,
        fitted_range=FittedRange.from_dict(data.get("fitted_range"), f"coefficients file {str(path)!r}"),
    )


def _law_file(data: dict, path: Path, include_unconverged: bool = False):
    """A file of ``{"law": EXPR|NAME, "coefficients": {...}}``: LawCoefficients, or None for Chinchilla's law
    (whose coefficients are then read as usual)."""
    from symscale.laws.registry import resolve_law
    from symscale.laws.values import LawCoefficients

    where = f"coefficients file {str(path)!r}"
    if not isinstance(data["law"], str):
        raise InputError(f"{where}: law must be a formula or a registered law's name")
    law = resolve_law(data["law"])
    if law.is_chinchilla:
        return None
    values = data.get("coefficients")
    if not isinstance(values, dict):
        raise InputError(f"{where}: coefficients must be an object of name: value")
    samples = data.get("bootstrap")
    if isinstance(samples, dict) and "samples" in samples:
        samples = samples["samples"]
    if samples is not None and not isinstance(samples, dict):
        raise InputError(f"{where}: bootstrap must be an object of name: list of samples")
    loaded = LawCoefficients(law, values, name=str(data.get("name", path.stem)),
                             source=str(data.get("source", str(path))), samples=samples,
                             fitted_range=FittedRange.from_dict(data.get("fitted_range"), where))
    converged = samples.get("converged") if isinstance(samples, dict) else None
    if converged is None:
        return loaded
    size = len(next(iter(loaded.samples.values())))
    if not isinstance(converged, list) or len(converged) != size or not all(isinstance(c, bool) for c in converged):
        raise InputError(f"{where}: bootstrap converged must be a list of {size} true/false values")
    keep = np.array(converged, dtype=bool)
    if include_unconverged or keep.all():
        return loaded
    if not keep.any():
        raise InputError(f"{where}: no bootstrap replicate converged")
    return replace(loaded, samples={k: v[keep] for k, v in loaded.samples.items()},
                   samples_excluded={"not_converged": int(np.sum(~keep))})


def _read_samples(raw: object, path: Path, include_unconverged: bool = False) -> tuple[dict | None, dict | None]:
    """Bootstrap replicates from a coefficients file, validated, and counts of those left out; None when absent."""
    if raw is None:
        return None, None
    where = f"coefficients file {str(path)!r}: bootstrap"
    converged = raw.get("converged") if isinstance(raw, dict) else None
    if isinstance(raw, dict) and "samples" in raw:
        raw = raw["samples"]
    if not isinstance(raw, dict) or any(key not in raw for key in NAMES):
        raise InputError(f"{where} must list samples of alpha, beta, A, B, E")
    samples = {key: _sample_list(raw[key], f"{where} {key}") for key in NAMES}
    lengths = {key: arr.size for key, arr in samples.items()}
    if len(set(lengths.values())) != 1:
        raise InputError(f"{where} lists must have equal lengths, got "
                         + ", ".join(f"{key} {n}" for key, n in lengths.items()))
    if converged is None:
        return samples, None
    size = lengths["alpha"]
    if not isinstance(converged, list) or len(converged) != size or not all(isinstance(c, bool) for c in converged):
        raise InputError(f"{where} converged must be a list of {size} true/false values")
    keep = np.array(converged, dtype=bool)
    if include_unconverged or keep.all():
        return samples, None
    return {key: arr[keep] for key, arr in samples.items()}, {"not_converged": int(np.sum(~keep))}


def _sample_list(raw: object, what: str) -> np.ndarray:
    """One coefficient's replicates: a non-empty flat list of finite numbers."""
    if not isinstance(raw, list) or not raw:
        raise InputError(f"{what} must be a non-empty list of numbers, got {_short(raw)}")
    values = np.array([_number(v, f"{what}[{i}]") for i, v in enumerate(raw)], dtype=float)
    if not np.all(np.isfinite(values)):
        bad = int(np.flatnonzero(~np.isfinite(values))[0])
        raise InputError(f"{what}[{bad}] must be finite, got {values[bad]}")
    return values


def save_coefficients(coefficients: Coefficients, path: str | Path, extra: dict | None = None,
                      converged: np.ndarray | None = None) -> None:
    """Write a coefficients JSON file that ``load_coefficients`` (and ``solve --coefficients``) reads.

    ``converged`` (one boolean per bootstrap replicate) is stored beside the samples, so that readers
    leave out the replicates whose refit did not converge.
    """
    if isinstance(coefficients, Coefficients):
        data: dict = {**coefficients.as_dict(), "name": coefficients.name, "source": coefficients.source}
    else:  # any other law: the formula travels with its values
        data = {"law": coefficients.law.formula if coefficients.law.name == "custom" else coefficients.law.name,
                "coefficients": coefficients.as_dict(), "name": coefficients.name, "source": coefficients.source}
    if getattr(coefficients, "fitted_range", None) is not None:
        data["fitted_range"] = coefficients.fitted_range.as_dict()
    if coefficients.samples is not None:
        data["bootstrap"] = {key: np.asarray(v, dtype=float).tolist() for key, v in coefficients.samples.items()}
        if converged is not None:
            data["bootstrap"]["converged"] = [bool(c) for c in np.asarray(converged, dtype=bool)]
    data.update(extra or {})
    from symscale.base.files import write_text_atomic

    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def resolve(spec: str | Path | Coefficients | None) -> Coefficients:
    """Coefficients from a preset name, a JSON path, an existing object, or None (chinchilla)."""
    if spec is None:
        return preset("chinchilla")
    if isinstance(spec, Coefficients) or hasattr(spec, "law"):
        return spec
    from symscale.base.files import names_a_file

    text = str(spec)
    if text.lower().endswith(".json") or names_a_file(text):
        return load_coefficients(text)
    return preset(text)
