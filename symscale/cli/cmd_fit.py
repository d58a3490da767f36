"""``symscale fit``: fit the Chinchilla law to training runs (paper Eq. 4), with uncertainty."""

from __future__ import annotations

import math
import time

import click

from symscale.cli.common import POSITIVE, CliError, deprecated_alias, emit_json, is_terminal
from symscale.cli.fit_checks import fit_check_options

NAMES = ("alpha", "beta", "A", "B", "E")


class FitFailed(click.ClickException):
    """The optimisation failed: one line, exit status 1."""

    exit_code = 1


@click.command("fit")
@click.argument("runs_arg", metavar="[RUNS]", required=False, default=None)
@click.option("--runs", "runs_opt", default=None, metavar="FILE|DATASET",
              help="Training runs: a CSV file or a bundled dataset (`symscale datasets`), e.g. sardana-2024. "
              "May also be given as the argument RUNS.")
@click.option("--params-col", default="Parameters", show_default=True, help="Column with parameter counts N.")
@click.option("--tokens-col", default="Tokens", show_default=True, help="Column with training tokens D.")
@click.option("--loss-col", default="Smoothed Loss", show_default=True, help="Column with final loss L.")
@click.option("--flops-col", default=None, help="Column with training FLOPs; replaces tokens by FLOPs/(6N).")
@click.option("--cutoff", type=POSITIVE, default=None, metavar="X", help="Keep runs with tokens/param <= X.")
@click.option(
    "--exclude-highest-loss",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    metavar="K",
    help="Drop the K runs with the highest loss.",
)
@click.option("--delta", type=POSITIVE, default=1e-3, show_default=True,
              help="Huber threshold delta (1e-8 to 100).")
@click.option(
    "--bootstrap",
    "n_boot",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="Resample runs N times with replacement and refit: standard errors and 95% intervals "
    "(2 to 20000 replicates).",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random seed (>= 0) for --bootstrap; the same seed gives the same replicates.")
@click.option(
    "-o", "--output", "out",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE.json",
    help="Write the coefficients (and bootstrap samples) for `symscale solve --coefficients`.",
)
@deprecated_alias("--out", "-o/--output", "out", type=click.Path(dir_okay=False))
@click.option("--name", default="fit", show_default=True, help="Name stored in the --output file.")
@click.option(
    "--no-lmfit",
    is_flag=True,
    help="Skip the lmfit polish and its stderr (saves lmfit's ~2 s import; the Newton optimum is kept).",
)
@click.option("--law", "law_spec", default=None, metavar="NAME|FORMULA",
              help="The law to fit: a registered law (`symscale laws`) or a formula in N and D such as "
              "'E + A/N**alpha + B/D**beta + C/(N*D)**g' [default: chinchilla, with its own fit].")
@click.option("--start", "starts", multiple=True, metavar="NAME=VALUE|NAME=LO:HI:COUNT",
              help="Start value or grid of a coefficient (repeatable; geometric for coefficients fitted as ln c). "
              "Default: the law's start grid.")
@click.option("--bound", "bounds", multiple=True, metavar="NAME=LO:HI",
              help="Fitting range of a coefficient (repeatable; an empty side is unbounded).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("--verbose", is_flag=True, help="Also compare the error estimators (sandwich, lmfit, bootstrap).")
@fit_check_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def fit(
    runs_arg: str | None,
    runs_opt: str | None,
    params_col: str,
    tokens_col: str,
    loss_col: str,
    flops_col: str | None,
    cutoff: float | None,
    exclude_highest_loss: int,
    delta: float,
    n_boot: int,
    seed: int | None,
    out: str | None,
    name: str,
    no_lmfit: bool,
    law_spec: str | None,
    starts: tuple[str, ...],
    bounds: tuple[str, ...],
    quiet: bool,
    verbose: bool,
    as_json: bool,
    **checks,
) -> None:
    """Fit L(N, D) = E + A/N**alpha + B/D**beta to training runs (Huber loss on log loss).

    RUNS is a CSV file or a bundled dataset: symscale fit --runs sardana-2024

    Runs Chinchilla's 4,500-point start grid as one batched Newton search, polishes the best point
    with lmfit, checks it against a long-double reference, and reports standard errors.
    With --law, fits that law instead: symscale fit --runs sardana-2024 --law kaplan-2020
    """
    from symscale.cli.cmd_fit_law import check_options, run_law_fit
    from symscale.laws.coefficients import Coefficients, save_coefficients
    from symscale.laws.registry import resolve_law
    from symscale.solvers import fit as F

    if runs_arg is not None and runs_opt is not None:
        raise CliError(f"give the runs once: as the argument ({runs_arg!r}) or as --runs ({runs_opt!r}), not both")
    runs_csv = runs_opt if runs_opt is not None else runs_arg
    if runs_csv is None:
        raise CliError("give the training runs: --runs FILE.csv or a bundled dataset such as sardana-2024 "
                       "(`symscale datasets` lists them)")
    began = time.perf_counter()
    if flops_col and click.get_current_context().get_parameter_source("tokens_col").name != "DEFAULT":
        raise CliError(f"--tokens-col {tokens_col} and --flops-col {flops_col} are alternatives: "
                       "--flops-col replaces tokens by FLOPs/(6N); give one of them")
    F.check_delta(delta)
    law = resolve_law(law_spec)
    check_options(law, starts, bounds)
    if out:
        check_writable(out, "--output")
    runs = F.load_runs(runs_csv, params_col, tokens_col, loss_col, flops_col, cutoff, exclude_highest_loss)
    if n_boot:
        F.check_bootstrap(n_boot, len(runs), seed)
    from symscale.cli.fit_checks import run_checks, wanted

    if wanted(checks):  # --holdout-above, --rollout, --fix, --tie, --objective-function
        return run_checks(law, runs, {"starts": starts, "bounds": bounds, "delta": delta, "n_boot": n_boot,
                                      "seed": seed, "out": out, "name": name, "no_lmfit": no_lmfit,
                                      "as_json": as_json}, checks)
    if not law.is_chinchilla:
        return run_law_fit(law, runs, {"starts": starts, "bounds": bounds, "delta": delta, "n_boot": n_boot,
                                       "seed": seed, "out": out, "name": name, "no_lmfit": no_lmfit,
                                       "quiet": quiet, "as_json": as_json})
    try:
        result = F.fit(runs, delta, name=name, use_lmfit=not no_lmfit)
        boot = _bootstrap(F, runs, result, n_boot, seed, delta, quiet or as_json) if n_boot else None
    except F.FitError as exc:
        raise FitFailed(str(exc)) from None
    reference = F.reference_optimum(result.theta, runs, delta)
    seconds = time.perf_counter() - began
    from symscale.laws.ranges import FittedRange

    fitted = FittedRange.of_runs(runs.params, runs.tokens, f"the {len(runs)} runs of {runs.source}")
    coeffs = result.coefficients
    if out:
        coeffs = Coefficients(**coeffs.as_dict(), name=coeffs.name, source=coeffs.source,
                              samples=None if boot is None else boot.samples, fitted_range=fitted)
        save_coefficients(
            coeffs,
            out,
            {
                "fit": {
                    "objective": result.objective,
                    "n_runs": result.n_runs,
                    "delta": delta,
                    "stderr": result.stderr,
                }
            },
            converged=None if boot is None else boot.converged,
        )
    data = {**result.summary(), "reference": reference.summary(), "seconds": seconds}
    if boot is not None:
        data["bootstrap"] = boot.summary()
    if as_json:
        emit_json(data)
    else:
        click.echo(report(data, runs.source, out, verbose))


def check_writable(path: str, option: str) -> None:
    """Fail now, before a long fit, if ``path`` cannot be written: probe its directory with a temporary file."""
    import os
    import tempfile

    target = os.path.abspath(path)
    folder = os.path.dirname(target)
    if os.path.isdir(target):
        raise CliError(f"cannot write {option} {path}: it is a directory")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".symscale-probe-"):
            pass
        if len(os.fsencode(os.path.basename(target))) > os.pathconf(folder, "PC_NAME_MAX"):
            raise OSError(36, "file name too long")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if isinstance(exc, FileNotFoundError) and not os.path.isdir(folder):
            reason = "no such directory" if not os.path.exists(folder) else "not a directory"
        raise CliError(f"cannot write {option} {path}: {reason.lower()}") from None


def _bootstrap(F, runs, result, n_boot: int, seed: int | None, delta: float, quiet: bool):
    """Run the bootstrap, with a progress bar on stderr only when it is a terminal."""
    if quiet or not is_terminal():
        return F.bootstrap(runs, result.theta, n_boot, seed, delta)
    with click.progressbar(length=n_boot, label="bootstrap", file=click.get_text_stream("stderr")) as bar:
        return F.bootstrap(runs, result.theta, n_boot, seed, delta, progress=bar.update)


def _relative(value: float, error: float | None) -> str:
    return "" if error is None or not value else f" ({100 * abs(error / value):.2f}%)"


def report(data: dict, source: str, out: str | None, verbose: bool = False) -> str:
    """The human-readable report, in lmfit's manner: statistics, variables, correlations, bootstrap."""
    boot = data.get("bootstrap")
    res, conv, st = data["residuals"], data["convergence"], data["starts"]
    errors, how = (boot["stderr"], "bootstrap") if boot else (data["stderr"], "sandwich")
    lines = [
        "[[Fit Statistics]]",
        "    law                = E + A/N**alpha + B/D**beta (chinchilla)",
        f"    runs               = {data['n_runs']} ({source})",
        f"    objective function = Huber on ln L (delta = {data['delta']:g}), summed over runs",
        f"    objective          = {data['objective']:.6e}",
        f"    residuals          = ln(predicted/observed): min {res['min']:+.4f}, max {res['max']:+.4f}, "
        f"rms {res['rms']:.4f}; {res['inside_delta']} of {data['n_runs']} inside |r| <= delta",
        f"    search             = {st['n']} starts, {st['refined']} refined by Newton, {st['best_basin']} in "
        "the best basin",
        f"    convergence        = gradient norm {conv['gradient_norm']:.2e}, Newton decrement "
        f"{conv['newton_decrement']:.2e}",
        f"[[Variables]] (uncertainty: {how} standard error)",
    ]
    logs = boot.get("stderr_log", {}) if boot else {}
    for key in NAMES:
        value, error = data["coefficients"][key], errors.get(key)
        if f"ln_{key}" in logs and key in ("A", "B"):  # scales spread log-normally: a factor, not +/-
            spread = logs[f"ln_{key}"]
            lines.append(f"    {key + ':':<7} {value:<12.6g} x/÷ {math.exp(spread):.4g} (ln {key} +/- {spread:.4g})")
            continue
        shown = "-" if error is None else f"{error:.6g}"
        lines.append(f"    {key + ':':<7} {value:<12.6g} +/- {shown}{_relative(value, error)}")
    lines += _correlation_lines(data.get("correlations"))
    if boot:
        excluded = boot["n"] - boot["n_converged"]
        lines.append(f"[[Bootstrap]] {boot['n']} replicates (seed {boot['seed']}), {boot['n_converged']} converged, "
                     f"{excluded} excluded (not converged); {boot['n_at_zero_E']} with E below 1e-4")
        lines.append("    95% percentile intervals: " + ", ".join(
            f"{key} [{boot['ci95'][key][0]:.4g}, {boot['ci95'][key][1]:.4g}]" for key in NAMES))
        lines.append("    log-scale standard errors: " + ", ".join(
            f"{name.replace('_', ' ')} +/- {value:.4g}" for name, value in logs.items()))
    if res["inside_delta"] <= 2 * 5:
        lines.append(f"Caution: only {res['inside_delta']} residuals lie inside delta, so the fit behaves like an "
                     "L1 fit and Hessian-based errors are unreliable" + ("" if boot else "; prefer --bootstrap") + ".")
    for why in (data.get("on_bound") or {}).values():
        lines.append(f"Caution: the optimum sits on a bound: {why}.")
    if verbose:
        ref = data["reference"]
        lines += ["[[Error estimators compared]]"]
        lines += [f"    {key + ':':<7} sandwich {_fmt_opt(data['stderr'][key])}, "
                  f"lmfit {_fmt_opt(data['lmfit_stderr'][key])}"
                  + (f", bootstrap {boot['stderr'][key]:.4g}" if boot else "") for key in NAMES]
        lines += [f"    sandwich: {data['stderr_method']}.", f"    lmfit: {data['lmfit_stderr_method']}.",
                  f"    long-double reference: objective {ref['objective_gap_relative']:.1e} relative above it, "
                  f"parameters within {ref['max_param_diff_relative']:.1e}"]
    if out:
        lines.append(f"Wrote {out}")
    lines.append(f"Time: {data['seconds']:.2f} s")
    return "\n".join(lines)


def _fmt_opt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _correlation_lines(correlations: dict | None) -> list[str]:
    """[[Correlations]]: each pair once, sorted by size, those above 0.1 (in the fitted parameters)."""
    if not correlations:
        return []
    names = list(correlations)
    pairs = [(correlations[a][b], a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    pairs = sorted((p for p in pairs if abs(p[0]) > 0.1), key=lambda p: -abs(p[0]))
    lines = ["[[Correlations]] (sandwich, in the fitted parameters a = ln A, b = ln B, e = ln E; unreported "
             "correlations are < 0.100)"]
    return lines + [f"    C({a}, {b}) = {value:+.4f}" for value, a, b in pairs]


COMMANDS = [fit]
