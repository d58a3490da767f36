"""The range of runs a coefficient set was fitted on, and the warnings for answers outside it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from symscale.base import numbers as N

QUANTITIES = ("params", "tokens", "tokens_per_param")
WORDS = {"params": "parameters", "tokens": "training tokens", "tokens_per_param": "tokens per parameter"}
SHOW = {"params": N.count, "tokens": N.count, "tokens_per_param": N.plain}


@dataclass(frozen=True)
class FittedRange:
    """[low, high] of parameters, tokens and tokens per parameter of the fitted runs (None: not published)."""

    params: tuple[float, float] | None = None
    tokens: tuple[float, float] | None = None
    tokens_per_param: tuple[float, float] | None = None
    source: str = ""

    @classmethod
    def from_row(cls, row: dict) -> FittedRange | None:
        """From min_/max_ columns of a data file (blank cells: not published); None when all are blank."""
        def pair(key: str):
            low, high = ((row.get(f"{side}_{key}") or "").strip() for side in ("min", "max"))
            return (float(low), float(high)) if low and high else None

        values = {key: pair(key) for key in QUANTITIES}
        if not any(values.values()):
            return None
        return cls(**values, source=(row.get("range_source") or "").strip())

    @classmethod
    def from_dict(cls, data: object, where: str) -> FittedRange | None:
        """From the ``fitted_range`` object of a coefficients file."""
        from symscale.base.errors import InputError

        if data is None:
            return None
        if not isinstance(data, dict):
            raise InputError(f"{where}: fitted_range must be an object")
        values = {}
        for key in QUANTITIES:
            pair = data.get(key)
            if pair is None:
                values[key] = None
                continue
            ok = isinstance(pair, list) and len(pair) == 2 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0 for v in pair)
            if not ok or pair[0] > pair[1]:
                raise InputError(f"{where}: fitted_range.{key} must be [low, high] with 0 < low <= high")
            values[key] = (float(pair[0]), float(pair[1]))
        return cls(**values, source=str(data.get("source", "")))

    @classmethod
    def of_runs(cls, params, tokens, source: str) -> FittedRange:
        """The range of a set of runs (what ``fit`` records)."""
        import numpy as np

        params, tokens = np.asarray(params, float), np.asarray(tokens, float)
        ratio = tokens / params
        return cls((float(params.min()), float(params.max())), (float(tokens.min()), float(tokens.max())),
                   (float(ratio.min()), float(ratio.max())), source)

    def as_dict(self) -> dict:
        return {**{key: None if getattr(self, key) is None else list(getattr(self, key)) for key in QUANTITIES},
                "source": self.source}

    def warnings(self, label: str, params: float, tokens: float) -> list[str]:
        """One sentence per quantity of a model outside the range, with the factor it extrapolates by."""
        found = []
        values = {"params": float(params), "tokens": float(tokens), "tokens_per_param": float(tokens) / float(params)}
        for key in QUANTITIES:
            bounds = getattr(self, key)
            if bounds is None or not math.isfinite(values[key]):
                continue
            low, high = bounds
            value = values[key]
            if value > high * (1 + 1e-9):
                where, factor, edge = "above the largest", value / high, high
            elif value < low * (1 - 1e-9):
                where, factor, edge = "below the smallest", low / value, low
            else:
                continue
            found.append(f"extrapolation: the {label} has {SHOW[key](value)} {WORDS[key]}, {N.plain(factor)}x "
                         f"{where} ({SHOW[key](edge)}) in the runs the coefficients were fitted on"
                         + (f" ({self.source})" if self.source else ""))
        return found


def model_warnings(coefficients, models: dict[str, dict]) -> list[str]:
    """Extrapolation warnings for each named model ({label: {params, tokens}}) under the coefficients' range."""
    fitted = getattr(coefficients, "fitted_range", None)
    if fitted is None:
        return []
    return [w for label, model in models.items() for w in fitted.warnings(label, model["params"], model["tokens"])]
