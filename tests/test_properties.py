"""Property-based tests (hypothesis): hostile numbers into every numeric option, the solver against mpmath,
random bootstrap files into solve.

Profiles (tests/conftest.py): ``ci`` by default, ``HYPOTHESIS_PROFILE=long`` by hand.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import resource
import signal
import sys
import tempfile
import warnings
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
import mpmath  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fuzzing  # noqa: E402

HEAVY = fuzzing.HEAVY
SLOW_LIMIT = 20


def _numeric_params():
    from symscale.cli import main

    found = []
    for name, command in fuzzing.walk(main):
        for param in command.params:
            if fuzzing.kind_of(param) in ("number", "int", "pair", "multiple"):
                found.append((name, param.name))
    return found


NUMERIC = _numeric_params()
COMMANDS = sorted({name for name, _ in NUMERIC})


@contextlib.contextmanager
def guarded(seconds: int = SLOW_LIMIT, extra_bytes: int = 2 * 1024 ** 3):
    """In-process limits for one CLI call: an alarm after ``seconds`` and an address-space cap."""
    def timeout(signum, frame):
        raise TimeoutError(f"the command ran longer than {seconds} s")

    with open("/proc/self/status") as status:
        vm = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = vm + extra_bytes if hard == resource.RLIM_INFINITY else min(hard, vm + extra_bytes)
    old = signal.signal(signal.SIGALRM, timeout)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def in_tmpdir():
    """Run inside a fresh temporary working directory."""
    old = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            yield Path(tmp)
        finally:
            os.chdir(old)


def invoke(args: list[str], files: dict[str, str] | None = None):
    """Run the CLI in-process the way a user's shell does (standalone); exceptions propagate.

    Python warnings are recorded (pytest would otherwise swallow them) and returned with the result.
    """
    from symscale.cli import main

    with in_tmpdir(), guarded(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Path("infile").write_text("x\n")
        for name, text in (files or {}).items():
            Path(name).write_text(text)
        result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result, [f"{w.category.__name__}: {w.message}" for w in caught]


def assert_clean(outcome, args) -> None:
    """Exit 0 or 2; on 2, one stderr line and no stdout; never an internal error or a warning."""
    result, caught = outcome
    shown = " ".join(a if len(a) < 80 else a[:60] + "..." for a in args)
    assert not caught, f"warnings {caught}: symscale {shown}"
    assert result.exit_code in (0, 2), f"exit {result.exit_code}: symscale {shown}\n{result.stderr}"
    assert "Traceback" not in result.stderr and "Internal error" not in result.stderr, shown
    assert not fuzzing._WARNING.search(result.stderr), f"warning: symscale {shown}\n{result.stderr}"
    if result.exit_code == 2:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, f"{len(lines)} stderr lines: symscale {shown}\n{result.stderr}"
        assert not result.stdout.strip(), f"partial stdout on exit 2: symscale {shown}"


def _number_text():
    floats = st.floats(allow_nan=True, allow_infinity=True)
    return st.one_of(
        floats.map(repr), floats.map(lambda x: f"{x:g}"), st.integers().map(str),
        st.from_regex(r"\A[-+]?\d{1,4}(\.\d{0,3})?([eE][-+]?\d{1,3})?[kKmMbBgGtTpP]?\Z"),
        st.text(max_size=20), st.sampled_from(fuzzing.NUMBERS + fuzzing.INTEGERS),
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_numeric_options_exit_0_or_2(command):
    """Random numbers and strings into one numeric option of a valid invocation: exit 0 or 2, never 1."""
    from symscale.cli import main

    leaf = dict(fuzzing.walk(main))[command]
    names = [p for c, p in NUMERIC if c == command]
    params = {p.name: p for p in leaf.params}
    examples = settings.default.max_examples // (6 if command in HEAVY else 1)

    @settings(max_examples=max(3, examples), suppress_health_check=list(HealthCheck))
    @given(name=st.sampled_from(names), base=st.sampled_from(fuzzing.BASELINES[command]),
           text=_number_text(), second=_number_text())
    def check(name, base, text, second):
        kind = fuzzing.kind_of(params[name])
        value = (text, second) if kind == "pair" else [text, second] if kind == "multiple" else text
        args = command.split() + list(fuzzing.build_args(leaf, {**base, name: value}))
        assert_clean(invoke(args), args)

    check()


# --- the float solver against an independent mpmath solution of Eq. 12 ------------------------------
DIGITS = 50


def mp_optimum(loss, rho, alpha, beta, A, B, E):
    """(N*, D*) from Eq. 12 solved in x = ln D by bracketing and bisection at 50 digits (g decreases in x)."""
    with mpmath.workdps(DIGITS):
        loss, rho, alpha, beta, A, B, E = map(mpmath.mpf, (loss, rho, alpha, beta, A, B, E))

        def g(x):
            d = mpmath.exp(x)
            return (E - loss) + B * (1 + beta / alpha) * d ** -beta + beta * B * rho / alpha * d ** (-beta - 1)

        lo = mpmath.log(B * (1 + beta / alpha) / (loss - E)) / beta - 1  # below the rho = 0 root: g(lo) > 0
        assert g(lo) > 0
        step = mpmath.mpf(1)
        hi = lo + step
        while g(hi) > 0:
            step *= 2
            lo, hi = hi, hi + step
        tol = mpmath.mpf(10) ** (-DIGITS + 8) * max(1, abs(hi))
        while hi - lo > tol:
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if g(mid) > 0 else (lo, mid)
        d = mpmath.exp((lo + hi) / 2)
        n = (A / (loss - E - B / d ** beta)) ** (1 / alpha)
        return n, d


def _log_uniform(lo, hi):
    return st.floats(math.log10(lo), math.log10(hi)).map(lambda e: 10.0 ** e)


coefficients = st.fixed_dictionaries({
    "alpha": st.floats(0.05, 1.5), "beta": st.floats(0.05, 1.5),
    "A": _log_uniform(1e-1, 1e5), "B": _log_uniform(1e-1, 1e5), "E": st.floats(0.0, 4.0),
})


def _representable(n, d) -> bool:
    return all(mpmath.mpf("1e-300") < v < mpmath.mpf("1e300") for v in (n, d, n * d * 6))


def _close(value, reference, what) -> None:
    rel = abs((mpmath.mpf(float(value)) - reference) / reference)
    assert rel <= 1e-10, f"{what}: float {float(value)!r} vs mpmath {mpmath.nstr(reference, 17)} (rel {float(rel):.2e})"


@given(c=coefficients, gap=_log_uniform(1e-3, 10.0),
       demand=st.one_of(st.just(0.0), _log_uniform(1.0, 1e18)))
def test_compute_optimum_matches_mpmath(c, gap, demand):
    """solve_compute_optimal agrees with Eq. 12 solved at 50 digits, to 1e-10 relative, across coefficient space."""
    from symscale import Coefficients, solve_compute_optimal

    loss = c["E"] + gap
    assume(loss > c["E"])
    n, d = mp_optimum(loss, demand / 3, **c)
    assume(_representable(n, d))
    solution = solve_compute_optimal(loss, demand, Coefficients(name="h", **c))
    _close(solution.optimal.params, n, "N*")
    _close(solution.optimal.tokens, d, "D*")


@given(c=coefficients, gap=_log_uniform(1e-3, 10.0),
       price=st.tuples(_log_uniform(0.1, 100.0), _log_uniform(0.1, 100.0)),
       peak=st.tuples(_log_uniform(1e12, 1e16), _log_uniform(1e12, 1e16)),
       mfu=st.tuples(st.floats(0.01, 1.0), st.floats(0.01, 1.0), st.floats(0.001, 1.0)),
       requests=st.one_of(st.just(0.0), _log_uniform(1.0, 1e13)),
       per_request=st.tuples(_log_uniform(1.0, 1e5), _log_uniform(1.0, 1e5)))
def test_cost_optimum_matches_mpmath(c, gap, price, peak, mfu, requests, per_request):
    """solve_cost_optimal agrees with Eq. 12 at rho = k_inf/k_train of Eq. 6, computed here at 50 digits."""
    from symscale import Coefficients
    from symscale.solvers.costs import CostSettings, solve_cost_optimal

    loss = c["E"] + gap
    assume(loss > c["E"])
    with mpmath.workdps(DIGITS):
        c_train, c_inf = (mpmath.mpf(p) / (3600 * mpmath.mpf(f)) for p, f in zip(price, peak))
        k_train = 6 * c_train / mfu[0]
        lifetime_in, lifetime_out = (mpmath.mpf(requests) * t for t in per_request)
        k_inf = 2 * c_inf * (lifetime_in / mfu[1] + lifetime_out / mfu[2])
        rho = k_inf / k_train
    n, d = mp_optimum(loss, rho, **c)
    assume(_representable(n, d))
    settings_ = CostSettings(train_gpu_cost=price[0], train_peak_flops=peak[0], inference_gpu_cost=price[1],
                             inference_peak_flops=peak[1], train_mfu=mfu[0], prefill_mfu=mfu[1],
                             decode_mfu=mfu[2], requests=requests, input_tokens=per_request[0],
                             output_tokens=per_request[1])
    solution = solve_cost_optimal(loss, settings_, Coefficients(name="h", **c))
    _close(solution.optimal.params, n, "N*")
    _close(solution.optimal.tokens, d, "D*")


def test_mpmath_reference_reproduces_the_paper_scale():
    """The reference itself: Chinchilla coefficients, rho = 0 is Chinchilla's closed form."""
    c = {"alpha": 0.336, "beta": 0.283, "A": 406.4, "B": 410.7, "E": 1.69}
    n, d = mp_optimum(2.0, 0, **c)
    with mpmath.workdps(DIGITS):
        alpha, beta, A, B, E = (mpmath.mpf(c[k]) for k in ("alpha", "beta", "A", "B", "E"))
        closed = (B * (1 + beta / alpha) / (2 - E)) ** (1 / beta)
        assert abs(d / closed - 1) < 1e-40
        assert abs(E + A / n ** alpha + B / d ** beta - 2) < 1e-40
        _, d_served = mp_optimum(2.0, 1e12, **c)
        assert d_served > d  # serving demand moves the optimum to more tokens (a smaller model)


# --- random bootstrap coefficient files ---------------------------------------------------------------
_sample_value = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(-1.0, 5.0),
                          _log_uniform(1e-300, 1e300), st.integers(-10, 10 ** 30),
                          st.text(max_size=3), st.none())


@given(length=st.integers(0, 12), data=st.data(), loss=st.floats(1.0, 3.0),
       demand=st.sampled_from(["0", "2e12", "1e20"]), regular=st.booleans())
def test_solve_over_random_bootstrap_files(length, data, loss, demand, regular):
    """solve --coefficients FILE with random bootstrap samples: an answer or one clean error (exit 2)."""
    good = {"alpha": 0.336, "beta": 0.283, "A": 406.4, "B": 410.7, "E": 1.69}
    samples = {}
    for key, value in good.items():
        if regular:
            spread = data.draw(st.lists(st.floats(0.5, 2.0), min_size=length, max_size=length))
            samples[key] = [value * s for s in spread]
        else:
            size = data.draw(st.sampled_from([length, length, max(0, length - 1)]))
            samples[key] = data.draw(st.lists(_sample_value, min_size=size, max_size=size))
    text = json.dumps({**good, "bootstrap": samples})
    args = ["solve", "--coefficients", "boot.json", "--loss", repr(loss), "--inference-tokens", demand]
    assert_clean(invoke(args, {"boot.json": text}), args + [f"(samples: {text[:300]})"])
