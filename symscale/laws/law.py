"""A scaling law as one object: its formula, its coefficients with domains, presets and source.

The formula is text in the safe grammar of :mod:`symscale.laws.parse`; sympy turns it into an
expression only when something symbolic is asked for, so that listing or solving with the built-in
Chinchilla law never imports sympy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

from symscale.base.errors import InputError


@dataclass(frozen=True)
class Coefficient:
    """One coefficient of a law: its name, its open domain (lower, upper) and a start grid for fitting."""

    name: str
    lower: float = 0.0
    upper: float = math.inf
    start: tuple[float, ...] = ()
    description: str = ""

    def check(self, value: float, law: str) -> float:
        """The value as a float, or an InputError naming the coefficient and its domain."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"law {law}: coefficient {self.name} must be a number, got {value!r}")
        try:
            number = float(value)
        except OverflowError:
            raise InputError(f"law {law}: coefficient {self.name} = {value} is beyond floating-point range") from None
        if not math.isfinite(number) or not (self.lower < number < self.upper):
            raise InputError(f"law {law}: coefficient {self.name} must lie in ({self.lower:g}, {self.upper:g}), "
                             f"got {number:g}")
        return number

    def as_dict(self) -> dict:
        return {"name": self.name, "lower": self.lower, "upper": None if math.isinf(self.upper) else self.upper,
                "start": list(self.start), "description": self.description}


@dataclass(frozen=True)
class Law:
    """A law L(N, D[, U]) with named coefficients, presets (name -> values) and where it comes from."""

    name: str
    formula: str
    coefficients: tuple[Coefficient, ...]
    source: str = ""
    notes: str = ""
    presets: dict = field(default_factory=dict, compare=False)
    derived: tuple = field(default=(), compare=False)   # (name, formula) of named pieces, e.g. effective tokens

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.coefficients)

    @property
    def is_chinchilla(self) -> bool:
        """The paper's law, solved by the proven fast path (Eq. 12 with its bracket)."""
        return self.name == "chinchilla"

    @property
    def uses_unique_tokens(self) -> bool:
        """Whether the formula uses U, the available unique tokens (read with ast: no sympy import)."""
        import ast

        return any(isinstance(node, ast.Name) and node.id == "U" for node in ast.walk(ast.parse(self.formula,
                                                                                                  mode="eval")))

    def coefficient(self, name: str) -> Coefficient:
        for c in self.coefficients:
            if c.name == name:
                return c
        raise InputError(f"law {self.name}: no coefficient {name!r} (it has {', '.join(self.names)})")

    def values(self, given: dict) -> dict[str, float]:
        """Checked values for every coefficient; a missing or unknown one is named."""
        unknown = [key for key in given if key not in self.names]
        if unknown:
            raise InputError(f"law {self.name}: unknown coefficient(s) {', '.join(unknown)} "
                             f"(it has {', '.join(self.names)})")
        missing = [key for key in self.names if key not in given]
        if missing:
            raise InputError(f"law {self.name}: no value for coefficient(s) {', '.join(missing)}; "
                             f"give them with --set NAME=VALUE")
        return {c.name: c.check(given[c.name], self.name) for c in self.coefficients}

    def preset(self, name: str) -> dict[str, float]:
        key = name.strip().lower()
        if key not in self.presets:
            known = ", ".join(self.presets) or "none"
            raise InputError(f"law {self.name} has no preset {name!r}; its presets: {known}")
        return dict(self.presets[key]["values"])

    @cached_property
    def expr(self):
        """The sympy expression (imports sympy)."""
        from symscale.laws.parse import parse

        return parse(self.formula, self.names)

    def as_dict(self) -> dict:
        return {
            "name": self.name, "expression": self.formula,
            "coefficients": [c.as_dict() for c in self.coefficients],
            "presets": {k: {"values": v["values"], "source": v.get("source", ""),
                            "fitted_range": v["range"].as_dict() if v.get("range") else None}
                        for k, v in self.presets.items()},
            "source": self.source, "notes": self.notes,
        }
