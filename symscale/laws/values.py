"""Values of a law's coefficients: one set, where it came from, and optional bootstrap samples.

The Chinchilla law keeps its own class (:class:`symscale.laws.coefficients.Coefficients`, with attributes
alpha, beta, A, B, E); every other law uses :class:`LawCoefficients`. Both expose ``law``,
``values``, ``name``, ``source``, ``samples`` and ``as_dict()``, which is all the solvers use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from symscale.base.errors import InputError
from symscale.laws.law import Law


@dataclass(frozen=True)
class LawCoefficients:
    """Coefficient values of any law (checked against its domains), with optional bootstrap samples."""

    law: Law
    values: dict
    name: str = "custom"
    source: str = ""
    samples: dict | None = field(default=None, compare=False, repr=False)
    fitted_range: object = field(default=None, compare=False, repr=False)   # symscale.laws.ranges.FittedRange
    samples_excluded: dict | None = field(default=None, compare=False, repr=False)  # reason -> count, at read
    score_maps: dict | None = field(default=None, compare=False, repr=False)  # name -> symscale.laws.scores.ScoreMap

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
        from symscale.laws.registry import CHINCHILLA

        return CHINCHILLA
    return law


@dataclass(frozen=True)
class LawSampleSet:
    """Bootstrap replicates of a law's coefficients chosen for one scenario: ``values`` holds arrays."""

    law: Law
    values: dict
    name: str = "samples"
    samples: None = None


def law_coefficients(law: Law, spec: str | None = None, assigned: dict | None = None) -> LawCoefficients:
    """Values of a non-Chinchilla law: a preset of that law or a coefficients file of it, then ``assigned``.

    ``spec`` None or 'chinchilla' (the default of --coefficients) means the law's own preset: the one named
    like the law, else its first; a law without presets then takes its values from ``assigned`` alone."""
    from symscale.base.files import names_a_file
    from symscale.laws.coefficients import resolve

    assigned = dict(assigned or {})
    name, source, base, fitted = law.name, law.source, {}, None
    default = spec is None or spec.strip().lower() == "chinchilla"
    key = (law.name if law.name in law.presets else next(iter(law.presets), "")) if default else spec.strip().lower()
    if key in law.presets:
        entry = law.presets[key]
        base, name, source, fitted = law.preset(key), key, entry.get("source", ""), entry.get("range")
    elif not default:
        if not (spec.lower().endswith(".json") or names_a_file(spec)):
            raise InputError(f"unknown preset {spec!r} of the law {law.name}; its presets: "
                             f"{', '.join(law.presets) or 'none'} (or give a coefficients file)")
        loaded = resolve(spec)
        if law_of(loaded).formula != law.formula:
            raise InputError(f"--coefficients {spec!r} holds coefficients of the law {law_of(loaded).name!r}, "
                             f"not of {law.name!r}")
        base, name, source, fitted = dict(loaded.values), loaded.name, loaded.source, loaded.fitted_range
    if assigned:
        name = "custom" if not base else f"{name} with --set"
    return LawCoefficients(law, {**base, **assigned}, name=name, source=source, fitted_range=fitted)


def for_law(law, coefficients=None):
    """Coefficients of ``law`` (a registered name, a formula or a Law) for the public solvers' ``law=`` argument.

    ``coefficients`` may be None (the law's own preset), a preset of the law or a coefficients file, a dict
    of values, or coefficients already of that law. Chinchilla's law gives the classic Coefficients."""
    from symscale.laws.coefficients import Coefficients, resolve
    from symscale.laws.registry import laws, resolve_law

    law = resolve_law(law)
    if coefficients is not None and not isinstance(coefficients, (str, dict)):
        if law_of(coefficients).formula != law.formula:
            raise InputError(f"the coefficients {getattr(coefficients, 'name', '?')!r} belong to the law "
                             f"{law_of(coefficients).name}, not {law.name}")
        return coefficients
    if law.is_chinchilla:
        return Coefficients(**law.values(coefficients)) if isinstance(coefficients, dict) else resolve(coefficients)
    registered = laws().get(law.name)
    if registered is not None and registered.formula == law.formula:
        law = registered  # with its presets
    if isinstance(coefficients, dict):
        return LawCoefficients(law, coefficients)
    if coefficients is None and not law.presets:
        raise InputError(f"the law {law.name} has no presets: give its coefficients as a dict of "
                         f"{', '.join(law.names)}")
    return law_coefficients(law, coefficients)
