"""The hard limits of a plan (a light module: the CLI reads them without importing sympy)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What limits the plan: available unique tokens, at most K epochs of them, at most N_max parameters."""

    unique_tokens: float | None = None
    max_epochs: float | None = None
    max_params: float | None = None

    @property
    def max_tokens(self) -> float | None:
        if self.max_epochs is None:
            return None
        return self.max_epochs * self.unique_tokens
