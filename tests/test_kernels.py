"""The generated kernels module is exactly what the symbolic model generates today."""

import numpy as np
import sympy as sp

from symscale.kernels import chinchilla as kernels
from symscale.kernels import codegen


def test_kernels_module_is_up_to_date():
    fresh = codegen.render()
    if kernels.SYMPY_VERSION == sp.__version__:
        assert codegen.KERNELS_PATH.read_text() == fresh, "run `python -m symscale.codegen` and commit"
    else:  # another sympy may print the same expressions differently: compare values instead
        namespace: dict = {}
        exec(compile(fresh, "fresh_kernels", "exec"), namespace)
        rng = np.random.default_rng(0)
        for kernel in codegen.kernel_definitions():
            args = _sample_args(kernel, rng)
            old = np.atleast_1d(getattr(kernels, kernel.name)(*args))
            new = np.atleast_1d(namespace[kernel.name](*args))
            np.testing.assert_allclose(np.asarray(old, float), np.asarray(new, float), rtol=1e-13)


def _sample_args(kernel, rng) -> np.ndarray:
    """Random arguments in range: positive everywhere, loss above E."""
    args = rng.uniform(0.2, 3.0, size=len(kernel.args))
    names = [str(a) for a in kernel.args]
    for size in ("N", "D"):   # sizes above 1, so that A/N**alpha <= A and B/D**beta <= B
        if size in names:
            args[names.index(size)] = rng.uniform(1.5, 3.0)
    if "loss" in names and "E" in names:  # reachable whichever of N, D is given
        args[names.index("loss")] = args[names.index("E")] + args[names.index("A")] + args[names.index("B")] + 0.5
    return args


def test_every_kernel_matches_its_sympy_expression():
    rng = np.random.default_rng(1)
    for kernel in codegen.kernel_definitions():
        args = _sample_args(kernel, rng)
        got = np.atleast_1d(np.asarray(getattr(kernels, kernel.name)(*args), float))
        subs = dict(zip(kernel.args, args, strict=True))
        want = np.array([float(sp.N(sp.sympify(e).subs(subs), 30)) for e in kernel.outputs])
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_one_command_writes_every_committed_module():
    import re

    for path, render in codegen.modules().items():
        committed = path.read_text()
        found = re.search(r'SYMPY_VERSION = "([^"]+)"', committed)
        if found is None or found.group(1) == sp.__version__:  # another sympy may print differently
            assert committed == render(), f"{path.name} drifted: run `python -m symscale.codegen` and commit"


def test_generated_law_kernels_match_the_lambdified_expressions():
    from symscale.kernels.generic import generated_module, lambdified
    from symscale.laws.registry import get

    law = get("kaplan-2020")
    module, fresh = generated_module(law), lambdified(law)
    values = law.preset("kaplan-2020")
    rng = np.random.default_rng(3)
    n, d = 10 ** rng.uniform(6, 12, 50), 10 ** rng.uniform(8, 14, 50)
    cs = tuple(values[name] for name in law.names)
    np.testing.assert_allclose(module.loss(n, d, *cs), fresh.loss(n, d, *cs), rtol=1e-14)
    np.testing.assert_allclose(np.array(module.system(n, d, 2.5, 1e10, *cs)),
                               np.array(fresh.system(n, d, 2.5, 1e10, *cs)), rtol=1e-12)
