"""The numeric kernels of a law: committed generated modules for built-in laws, lambdify for the others.

Built-in laws load their module from ``symscale/kernels/generated/`` (written by ``python -m
symscale.codegen``, drift-checked by the tests), so solving with them never imports sympy; a law
given as a formula is lambdified once per process (:func:`lambdified`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache

from symscale.laws.law import Law

GENERATED = {"kaplan-2020": "kaplan_2020"}
"""Built-in laws with a committed kernel module: law name -> module name under laws/generated."""


@dataclass(frozen=True)
class Kernels:
    """numpy functions of a law: loss(N, D, *c), elasticities(N, D, *c) -> (a_N, a_D),
    system(N, D, loss, rho, *c) -> (F1, F2, J11, J12, J21, J22), along_curve(N, D, loss, rho, *c)."""

    loss: object
    elasticities: object
    system: object
    along_curve: object


def generated_module(law: Law):
    """The committed kernel module of a built-in law, or None."""
    from symscale.laws.registry import BUILT_IN

    if law.name not in GENERATED or law not in BUILT_IN:
        return None
    return importlib.import_module(f"{__package__}.generated.{GENERATED[law.name]}")


@lru_cache(maxsize=32)
def kernels(law: Law) -> Kernels:
    """The kernels of ``law``, cached per process."""
    module = generated_module(law)
    if module is not None:
        return Kernels(module.loss, module.elasticities, module.system, module.along_curve)
    return lambdified(law)


def lambdified(law: Law) -> Kernels:
    """The numeric kernels of ``law`` lambdified to numpy from its sympy problem (with shared subexpressions)."""
    import sympy as sp

    from symscale.problems.generic import kernel_outputs

    functions = {}
    for name, (args, outputs) in kernel_outputs(law).items():
        functions[name] = sp.lambdify(args, outputs if len(outputs) > 1 else outputs[0], modules="numpy", cse=True)
    return Kernels(**functions)
