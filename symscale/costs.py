"""Public name of the cost objective (``symscale.costs.solve_cost_optimal``); see symscale.solvers.costs."""

from symscale.solvers import costs as _home


def __getattr__(name: str):
    """Every name of :mod:`symscale.solvers.costs`."""
    return getattr(_home, name)


def __dir__() -> list[str]:
    return dir(_home)
