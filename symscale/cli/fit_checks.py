"""Options of ``symscale fit`` for out-of-sample checks (--holdout-above, --rollout) and fit controls
(--fix, --tie, --objective-function), with their runners and reports."""

from __future__ import annotations

import time
from collections.abc import Callable

import click
import numpy as np

from symscale.base import numbers as N
from symscale.cli.common import POSITIVE, CliError, emit_json, parse_assignments, render_table

CHECK_KEYS = ("holdout_above", "holdout_tpp_above", "rollout", "fixes", "ties", "objective_function",
              "overestimate_penalty")


def fit_check_options(func: Callable) -> Callable:
    """Add the holdout, rollout and fit-control options to ``fit``."""
    options = [
        click.option("--holdout-above", "holdout_above", type=POSITIVE, default=None, metavar="PARAMS",
                     help="Fit on runs with at most PARAMS parameters and predict the larger ones (e.g. 2e9)."),
        click.option("--holdout-tokens-per-param-above", "holdout_tpp_above", type=POSITIVE, default=None,
                     metavar="X", help="Fit on runs with tokens/param <= X and predict the others."),
        click.option("--rollout", is_flag=True,
                     help="For each model size: fit on the smaller sizes, predict it; print the table."),
        click.option("--fix", "fixes", multiple=True, metavar="NAME=VALUE",
                     help="Hold a coefficient at VALUE (repeatable), e.g. --fix E=1.69."),
        click.option("--tie", "ties", multiple=True, metavar="NAME=OTHER",
                     help="Fit one value for two coefficients (repeatable), e.g. --tie beta=alpha."),
        click.option("--objective-function", type=click.Choice(["huber", "mse", "asymmetric"]), default=None,
                     help="Per-run loss of r = ln(predicted/observed): huber (default, the paper's), mse, or "
                     "asymmetric (over-prediction weighted by --overestimate-penalty). Always summed over runs."),
        click.option("--overestimate-penalty", type=POSITIVE, default=None, metavar="K",
                     help="Factor on the squared residual of over-predicted runs (--objective-function asymmetric)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def wanted(checks: dict) -> bool:
    """Whether any of these options asks for something other than the plain fit (huber is the default)."""
    given = {k: checks.get(k) for k in CHECK_KEYS if checks.get(k) not in (None, False, ())}
    if given.get("objective_function") == "huber" and "overestimate_penalty" not in given:
        del given["objective_function"]
    return bool(given)


def parse_ties(items: tuple[str, ...]) -> dict[str, str]:
    """--tie NAME=OTHER pairs."""
    ties: dict[str, str] = {}
    for item in items:
        name, sep, other = str(item).partition("=")
        name, other = name.strip(), other.strip()
        if not sep or not name.isidentifier() or not other.isidentifier():
            raise CliError(f"--tie {item!r}: write NAME=OTHER, e.g. --tie beta=alpha")
        if name in ties:
            raise CliError(f"--tie: {name} given twice")
        ties[name] = other
    return ties


def controls_of(law, checks: dict):
    """The Controls of --fix/--tie/--objective-function/--overestimate-penalty for ``law``."""
    from symscale.solvers.fit_controls import make_controls

    fixed = parse_assignments(checks.get("fixes") or (), "--fix")
    return make_controls(law, fixed, parse_ties(checks.get("ties") or ()), checks.get("objective_function") or "huber",
                         checks.get("overestimate_penalty"))


def _generic_starts(law, starts: dict) -> dict:
    """Start grids for the Chinchilla law fitted by the any-law fit: its own 4,500-point grid, unless --start."""
    if not law.is_chinchilla:
        return starts
    grid = {"alpha": tuple(np.arange(0.0, 2.01, 0.5)), "beta": tuple(np.arange(0.0, 2.01, 0.5)),
            "A": tuple(np.exp(np.arange(0.0, 26.0, 5.0))), "B": tuple(np.exp(np.arange(0.0, 26.0, 5.0))),
            "E": tuple(np.exp(np.arange(-1.0, 1.01, 0.5)))}
    grid["alpha"] = (1e-3,) + grid["alpha"][1:]  # the open domain excludes an exponent of 0
    grid["beta"] = (1e-3,) + grid["beta"][1:]
    return {**grid, **starts}


class Fitting:
    """One configured fit of a law: (runs, n_boot, seed) -> full coefficient values and bootstrap samples."""

    def __init__(self, law, controls, delta: float, use_lmfit: bool, starts: dict, bounds: dict):
        self.law, self.controls, self.delta, self.use_lmfit = law, controls, delta, use_lmfit
        self.generic = not law.is_chinchilla or controls.constrained or controls.objective != "huber"
        self.starts, self.bounds = starts, bounds

    def setup(self):
        from symscale.solvers import fit_generic as LF
        from symscale.solvers.fit_controls import constrain

        reduced = constrain(self.law, self.controls)
        gone = set(self.law.names) - set(reduced.names)
        starts = {k: v for k, v in _generic_starts(self.law, self.starts).items() if k not in gone}
        bounds = {k: v for k, v in self.bounds.items() if k not in gone}
        return LF.setup(reduced, starts, bounds, self.controls.objective, self.controls.penalty)

    def run(self, runs, n_boot: int = 0, seed: int | None = None):
        """(result, bootstrap or None): a LawFit of the reduced law, or the Chinchilla fit's own result."""
        import warnings

        from symscale.cli.cmd_fit import FitFailed
        from symscale.solvers.fit_search import FitError

        with warnings.catch_warnings(), np.errstate(all="ignore"):  # lmfit warns on a singular covariance
            warnings.simplefilter("ignore")
            return self._run(runs, n_boot, seed, FitFailed, FitError)

    def _run(self, runs, n_boot, seed, FitFailed, FitError):
        try:
            if self.generic:
                from symscale.solvers import fit_generic as LF

                result = LF.fit_law(runs, self.setup(), self.delta, use_lmfit=self.use_lmfit)
                boot = LF.bootstrap_law(runs, result, n_boot, seed) if n_boot else None
            else:
                from symscale.solvers import fit as F

                result = F.fit(runs, self.delta, use_lmfit=self.use_lmfit)
                boot = F.bootstrap(runs, result.theta, n_boot, seed, self.delta) if n_boot else None
        except FitError as exc:
            raise FitFailed(str(exc)) from None
        return result, boot

    def values(self, result, boot) -> tuple[dict, dict | None]:
        """Full coefficient values and (converged) bootstrap samples of the original law."""
        from symscale.solvers.fit_controls import expand

        values = dict(result.values) if self.generic else result.coefficients.as_dict()
        samples = None
        if boot is not None:
            keep = np.asarray(boot.converged, dtype=bool) if boot.converged is not None else None
            if keep is None or keep.sum() < 2:
                keep = np.ones(len(next(iter(boot.samples.values()))), dtype=bool)
            samples = {k: np.asarray(v)[keep] for k, v in boot.samples.items()}
        if self.generic:
            values = expand(self.controls, values)
            samples = None if samples is None else expand(self.controls, samples)
        return values, samples

    def __call__(self, runs, n_boot: int, seed: int | None):
        return self.values(*self.run(runs, n_boot, seed))


def run_checks(law, runs, options: dict, checks: dict) -> None:
    """``fit`` with holdout/rollout/controls: fit, report, write --output."""
    from symscale.problems.fit_generic import parametrisation  # noqa: F401  (imports sympy once, before timing)

    began = time.perf_counter()
    kind, data = out_of_sample(law, runs, options, checks)
    if kind == "holdout":
        _emit({**data, "seconds": time.perf_counter() - began}, options, render_holdout)
    elif kind == "rollout":
        _emit({**data, "seconds": time.perf_counter() - began}, options, render_rollout)
    else:
        _controlled_fit(law, runs, data, options, began)


def out_of_sample(law, runs, options: dict, checks: dict) -> tuple[str, object]:
    """('holdout' | 'rollout', the report without its time) for those checks, else ('fit', the configured Fitting)."""
    from symscale.cli.cmd_fit_law import parse_bounds, parse_starts
    from symscale.problems.fit_generic import parametrisation  # noqa: F401  (imports sympy once, before timing)
    from symscale.solvers.rollout import Fitter, holdout, rollout

    controls = controls_of(law, checks)
    fitting = Fitting(law, controls, options["delta"], not options["no_lmfit"], parse_starts(options["starts"]),
                      parse_bounds(options["bounds"]))
    split = [k for k in ("holdout_above", "holdout_tpp_above") if checks.get(k) is not None]
    if checks.get("rollout") and split:
        raise CliError("give --rollout or --holdout-above/--holdout-tokens-per-param-above, not both")
    if (split or checks.get("rollout")) and options["out"]:
        raise CliError("--output writes a fit of all runs; leave it out with --holdout-above/--rollout")
    fitter = Fitter(law, fitting)
    n_boot, seed = options["n_boot"], options["seed"]
    if split:
        held = np.zeros(len(runs), dtype=bool)
        what = []
        if checks.get("holdout_above") is not None:
            held |= runs.params > checks["holdout_above"] * (1 + 1e-12)
            what.append(f"--holdout-above {checks['holdout_above']:g}")
        if checks.get("holdout_tpp_above") is not None:
            held |= runs.tokens / runs.params > checks["holdout_tpp_above"] * (1 + 1e-12)
            what.append(f"--holdout-tokens-per-param-above {checks['holdout_tpp_above']:g}")
        return "holdout", {"law": law.name, "controls": controls.describe(),
                           **holdout(fitter, runs, held, n_boot, seed, " and ".join(what))}
    if checks.get("rollout"):
        return "rollout", {"law": law.name, "controls": controls.describe(),
                           "rollout": rollout(fitter, runs, n_boot, seed)}
    return "fit", fitting


def _emit(data: dict, options: dict, render: Callable) -> None:
    if options["as_json"]:
        emit_json(data)
    else:
        click.echo(render(data))


def _controlled_fit(law, runs, fitting: Fitting, options: dict, began: float) -> None:
    """A fit with fixed/tied coefficients or another objective: the any-law fit of the reduced law."""
    from symscale.cli.cmd_fit_law import report

    controls = fitting.controls
    result, boot = fitting.run(runs, options["n_boot"], options["seed"])
    values, samples = fitting.values(result, boot)
    data = {**result.summary(), "seconds": time.perf_counter() - began, "controls": controls.describe()}
    data["law"] = {"name": law.name, "expression": law.formula}
    data["fitted_coefficients"] = data["coefficients"]
    data["coefficients"] = values
    data["fitted_as"] = _expand_labels(controls, data["fitted_as"])
    data["stderr"] = _expand_tied(controls, data["stderr"])
    data["lmfit_stderr"] = _expand_tied(controls, data["lmfit_stderr"])
    if boot is not None:
        summary = boot.summary()
        summary["stderr"] = _expand_tied(controls, summary["stderr"], 0.0)
        summary["ci95"] = _expand_tied(controls, summary["ci95"], None, fixed_interval=True)
        data["bootstrap"] = summary
    if options["out"]:
        _save(law, runs, values, samples, data, options)
    if options["as_json"]:
        emit_json(data)
        return
    text = report(data, runs.source, options["out"])
    if controls.objective != "huber":
        text = text.replace("Huber objective:", f"{controls.objective} objective:", 1)
        text = text.replace(f"(Huber delta = {data['delta']:g})", f"({controls.objective} objective)", 1)
        text = "\n".join(line for line in text.splitlines() if "residuals lie inside delta" not in line)
    click.echo(text + "\n" + _control_lines(controls))


def _expand_labels(controls, labels: dict) -> dict:
    out = dict(labels)
    for name, _ in controls.fixed:
        out[name] = "fixed"
    for name, other in controls.tied:
        out[name] = f"tied to {other}"
    return {n: out[n] for n in controls.original.names}


def _expand_tied(controls, table: dict, fixed_value=None, fixed_interval: bool = False) -> dict:
    out = dict(table)
    for name, value in controls.fixed:
        out[name] = [value, value] if fixed_interval else fixed_value
    for name, other in controls.tied:
        out[name] = out.get(other)
    return {n: out.get(n) for n in controls.original.names}


def _control_lines(controls) -> str:
    d = controls.describe()
    parts = [f"Objective: {d['objective_description']}"
             + (f", K = {controls.penalty:g}" if controls.objective == "asymmetric" else "") + "."]
    if controls.fixed:
        fixed = ", ".join(f"{n} = {v:g}" for n, v in controls.fixed)
        parts.append(f"Fixed (not fitted, no uncertainty): {fixed}.")
    if controls.tied:
        parts.append("Tied (one fitted value, its uncertainty shared): "
                     + ", ".join(f"{n} = {o}" for n, o in controls.tied) + ".")
    return "\n".join(parts)


def _save(law, runs, values: dict, samples: dict | None, data: dict, options: dict) -> None:
    from symscale.laws.coefficients import Coefficients, save_coefficients
    from symscale.laws.ranges import FittedRange
    from symscale.laws.values import LawCoefficients

    fitted = FittedRange.of_runs(runs.params, runs.tokens, f"the {len(runs)} runs of {runs.source}")
    source = f"symscale fit of the law {law.name} to {len(runs)} runs from {runs.source} ({data['controls']})"
    samples = None if samples is None else {k: np.asarray(v, dtype=float) for k, v in samples.items()}
    if law.is_chinchilla:
        coeffs = Coefficients(**values, name=options["name"], source=source, samples=samples, fitted_range=fitted)
    else:
        coeffs = LawCoefficients(law, values, name=options["name"], source=source, samples=samples,
                                 fitted_range=fitted)
    save_coefficients(coeffs, options["out"], {"fit": {"objective": data["objective"], "n_runs": data["n_runs"],
                                                       "stderr": data["stderr"], "controls": data["controls"]}})


def _pct(x: float) -> str:
    return f"{100 * x:+.2f}%"


def render_holdout(data: dict) -> str:
    """The held-out runs, predicted against observed, and the summary."""
    s = data["summary"]
    boot = "n_inside_ci95" in s
    header = ("params", "tokens", "tokens/param", "observed", "predicted", "rel. error")
    header += ("95% interval", "inside") if boot else ()
    rows = []
    for r in data["runs"]:
        row = (N.count(r["params"]), N.count(r["tokens"]), f"{r['tokens_per_param']:.3g}", f"{r['observed']:.4f}",
               f"{r['predicted']:.4f}", _pct(r["relative_error"]))
        if boot:
            low, high = r["prediction_ci95"]
            row += (f"[{low:.4f}, {high:.4f}]", "yes" if r["inside_ci95"] else "no")
        rows.append(row)
    lines = [f"Held-out check of the law {data['law']}: fitted on {s['n_train']} runs, predicting {s['n_held_out']}",
             "", render_table(rows, header), "",
             f"Mean |relative error| {100 * s['mean_abs_relative_error']:.2f}%, max "
             f"{100 * s['max_abs_relative_error']:.2f}%"]
    if boot:
        lines.append(f"{s['n_inside_ci95']} of {s['n_held_out']} observed losses inside the {s['interval']}.")
    lines.append(f"Time: {data['seconds']:.2f} s")
    return "\n".join(lines)


def render_rollout(data: dict) -> str:
    """One row per predicted model size."""
    rows = data["rollout"]
    boot = any("n_inside_ci95" in r for r in rows)
    header = ("predicted size", "fitted on", "held out", "mean |rel. err|", "max |rel. err|")
    header += ("inside 95%",) if boot else ()
    table = []
    for r in rows:
        row = (N.count(r["params"]), f"{r['n_train']} runs", str(r["n_held_out"]),
               f"{100 * r['mean_abs_relative_error']:.2f}%", f"{100 * r['max_abs_relative_error']:.2f}%")
        if boot:
            row += (f"{r['n_inside_ci95']}/{r['n_held_out']}",)
        table.append(row)
    return "\n".join([f"Rollout of the law {data['law']}: fit on the sizes below each size, predict it", "",
                      render_table(table, header), "", f"Time: {data['seconds']:.2f} s"])

