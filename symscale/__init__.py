"""symscale: inference-aware scaling laws, derived symbolically, solved numerically, checked at high precision.

The numeric entry points import only numpy; the symbolic layer (sympy) loads on demand.
"""

from symscale.base.errors import InputError
from symscale.laws.coefficients import Coefficients, load_coefficients, preset, presets

__version__ = "0.1.0"

__all__ = [
    "Coefficients", "InputError", "load_coefficients", "preset", "presets",
    "solve_compute_optimal", "solve_optimal",
]


def __getattr__(name: str):
    """Load the solver lazily so ``import symscale`` stays cheap."""
    if name in ("solve_compute_optimal", "solve_optimal"):
        from symscale.solvers import solve

        return getattr(solve, name)
    raise AttributeError(name)
