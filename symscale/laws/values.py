"""Values of a law's coefficients: one set, where it came from, and optional bootstrap samples.

The Chinchilla law keeps its own class (:class:`symscale.coefficients.Coefficients`, with attributes
alpha, beta, A, B, E); every other law uses :class:`LawCoefficients`. Both expose ``law``,
``values``, ``name``, ``source``, ``samples`` and ``as_dict()``, which is all the solvers use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from .law import Law


@dataclass(frozen=True)
class LawCoefficients:
    """Coefficient values of any law (checked against its domains), with optional bootstrap samples."""

    law: Law
    values: dict
    name: str = "custom"
    source: str = ""
    samples: dict | None = field(default=None, compare=False, repr=False)
    fitted_range: object = field(default=None, compare=False, repr=False)   # symscale.ranges.FittedRange
    samples_excluded: dict | None = field(default=None, compare=False, repr=False)  # reason -> count, at read
    score_maps: dict | None = field(default=None, compare=False, repr=False)  # name -> symscale.scores.ScoreMap

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", self.law.values(dict(self.values)))
        if self.samples is not None:
            object.__setattr__(self, "samples", check_samples(self.law, self.samples, self.name))

    def as_dict(self) -> dict[str, float]:
        return dict(self.values)

    def with_values(self, **values: float) -> LawCoefficients:
        """A copy with some coefficients replaced (bootstrap samples dropped)."""
        return LawCoefficients(self.law, {**self.values, **values}, "custom", f"{self.name} with {values}",
                               fitted_range=self.fitted_range)

    def describe(self) -> str:
        return "  ".join(f"{key} = {value:.6g}" for key, value in self.values.items())


def check_samples(law: Law, raw: dict, where: str) -> dict[str, np.ndarray]:
    """Bootstrap samples: one finite 1-D array per coefficient, all of one non-zero length."""
    missing = [name for name in law.names if name not in raw]
    if missing:
        raise InputError(f"{where}: bootstrap samples lack {', '.join(missing)}")
    try:
        samples = {name: np.asarray(raw[name], dtype=float) for name in law.names}
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{where}: bootstrap samples must be lists of numbers") from None
    shapes = {a.shape for a in samples.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1 or next(iter(shapes))[0] == 0:
        raise InputError(f"{where}: bootstrap samples must be non-empty lists of one common length")
    return samples


def law_of(coefficients) -> Law:
    """The law a coefficient set belongs to (Chinchilla's for the classic class)."""
    law = getattr(coefficients, "law", None)
    if law is None:
        from .registry import CHINCHILLA

        return CHINCHILLA
    return law


@dataclass(frozen=True)
class LawSampleSet:
    """Bootstrap replicates of a law's coefficients chosen for one scenario: ``values`` holds arrays."""

    law: Law
    values: dict
    name: str = "samples"
    samples: None = None


def for_law(law, coefficients=None):
    """Coefficients of ``law`` (a registered name, a formula or a Law) for the public solvers' ``law=`` argument.

    ``coefficients`` may be None (the law's first preset), the name of one of its presets, a dict of
    values, or coefficients already of that law. Chinchilla's law gives the classic Coefficients."""
    from ..coefficients import Coefficients, resolve
    from .registry import laws, resolve_law

    law = resolve_law(law)
    if coefficients is not None and not isinstance(coefficients, (str, dict)):
        if law_of(coefficients).formula != law.formula:
            raise InputError(f"the coefficients {getattr(coefficients, 'name', '?')!r} belong to the law "
                             f"{law_of(coefficients).name}, not {law.name}")
        return coefficients
    if law.is_chinchilla:
        return Coefficients(**coefficients) if isinstance(coefficients, dict) else resolve(coefficients)
    registered = laws().get(law.name)
    presets = registered.presets if registered is not None and registered.formula == law.formula else {}
    if isinstance(coefficients, dict):
        return LawCoefficients(law, coefficients)
    if not presets:
        raise InputError(f"the law {law.name} has no presets: give its coefficients as a dict of "
                         f"{', '.join(law.names)}")
    name = next(iter(presets)) if coefficients is None else coefficients.strip().lower()
    if name not in presets:
        raise InputError(f"unknown preset {coefficients!r} of the law {law.name}; its presets: {', '.join(presets)}")
    entry = presets[name]
    return LawCoefficients(law, entry["values"], name=name, source=entry.get("source", ""),
                           fitted_range=entry.get("range"))
