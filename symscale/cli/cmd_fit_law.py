"""``symscale fit --law``: fit any registered or custom law (other than Chinchilla's) to training runs."""

from __future__ import annotations

import math
import time

import click

from symscale.cli.common import CliError, emit_json, fmt, is_terminal, parse_number, render_table


def parse_starts(items: tuple[str, ...]) -> dict:
    """--start NAME=VALUE or NAME=LO:HI:COUNT (repeatable), each name once."""
    from symscale.solvers.fit_generic import Span

    starts: dict = {}
    for item in items:
        name, text = _split(item, "--start", "NAME=VALUE or NAME=LO:HI:COUNT, e.g. --start alpha=0.1:1:4")
        if name in starts:
            raise CliError(f"--start: {name} given twice")
        parts = text.split(":")
        if len(parts) == 1:
            starts[name] = _number(parts[0], item, "--start")
            continue
        if len(parts) != 3:
            raise CliError(f"--start {item!r}: write NAME=VALUE or NAME=LO:HI:COUNT, e.g. --start alpha=0.1:1:4")
        lo, hi = (_number(part, item, "--start") for part in parts[:2])
        count = parts[2].strip()
        if not count.isdigit() or not 2 <= int(count) <= 1000:
            raise CliError(f"--start {item!r}: COUNT must be a whole number from 2 to 1000, got {count!r}")
        if not lo < hi:
            raise CliError(f"--start {item!r}: LO must be below HI")
        starts[name] = Span(lo, hi, int(count))
    return starts


def parse_bounds(items: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    """--bound NAME=LO:HI (repeatable); LO or HI may be empty or -inf/inf for no bound on that side."""
    bounds: dict[str, tuple[float, float]] = {}
    for item in items:
        name, text = _split(item, "--bound", "NAME=LO:HI, e.g. --bound alpha=0:2")
        if name in bounds:
            raise CliError(f"--bound: {name} given twice")
        parts = text.split(":")
        if len(parts) != 2:
            raise CliError(f"--bound {item!r}: write NAME=LO:HI, e.g. --bound alpha=0:2 (an empty side is unbounded)")
        lo = _limit(parts[0], -math.inf, item)
        hi = _limit(parts[1], math.inf, item)
        if not lo < hi:
            raise CliError(f"--bound {item!r}: LO must be below HI")
        bounds[name] = (lo, hi)
    return bounds


def _split(item: str, option: str, form: str) -> tuple[str, str]:
    name, sep, text = str(item).partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise CliError(f"{option} {item!r}: write {form}")
    return name, text


def _number(text: str, item: str, option: str) -> float:
    try:
        return parse_number(text)
    except ValueError as exc:
        raise CliError(f"{option} {item!r}: {exc}") from None


def _limit(text: str, default: float, item: str) -> float:
    word = text.strip().lower()
    if word in ("", "inf", "+inf", "-inf"):
        if word and (word == "-inf") != (default < 0):
            raise CliError(f"--bound {item!r}: write -inf only as LO and inf only as HI")
        return default
    return _number(text, item, "--bound")


def run_law_fit(law, runs, options: dict) -> None:
    """Fit ``law`` to ``runs`` and print the report or JSON; write --output as a law file."""
    from symscale.cli.cmd_fit import FitFailed
    from symscale.laws.coefficients import save_coefficients
    from symscale.laws.values import LawCoefficients
    from symscale.solvers import fit_generic as LF
    from symscale.solvers.fit_search import FitError

    began = time.perf_counter()
    setup = LF.setup(law, parse_starts(options["starts"]), parse_bounds(options["bounds"]))
    n_boot, quiet = options["n_boot"], options["quiet"] or options["as_json"]
    try:
        result = LF.fit_law(runs, setup, options["delta"], use_lmfit=not options["no_lmfit"])
        boot = _bootstrap(LF, runs, result, n_boot, options["seed"], quiet) if n_boot else None
    except FitError as exc:
        raise FitFailed(str(exc)) from None
    data = {**result.summary(), "seconds": time.perf_counter() - began}
    if boot is not None:
        data["bootstrap"] = boot.summary()
    out = options["out"]
    if out:
        from symscale.laws.ranges import FittedRange

        coeffs = LawCoefficients(law, result.values, name=options["name"], source=result.source,
                                 samples=None if boot is None else boot.samples,
                                 fitted_range=FittedRange.of_runs(runs.params, runs.tokens,
                                                                  f"the {len(runs)} runs of {runs.source}"))
        extra = {"fit": {"objective": result.objective, "n_runs": result.n_runs, "delta": result.delta,
                         "stderr": result.stderr}}
        save_coefficients(coeffs, out, extra, converged=None if boot is None else boot.converged)
    if options["as_json"]:
        emit_json(data)
    else:
        click.echo(report(data, runs.source, out))


def _bootstrap(LF, runs, result, n_boot: int, seed: int | None, quiet: bool):
    """The bootstrap, with a progress bar on stderr only when it is a terminal."""
    if quiet or not is_terminal():
        return LF.bootstrap_law(runs, result, n_boot, seed)
    with click.progressbar(length=n_boot, label="bootstrap", file=click.get_text_stream("stderr")) as bar:
        return LF.bootstrap_law(runs, result, n_boot, seed, progress=bar.update)


def _cell(value: float | None) -> str:
    return "-" if value is None else fmt(value)


def report(data: dict, source: str, out: str | None) -> str:
    """The human-readable report of a law fit."""
    boot = data.get("bootstrap")
    header = ("coefficient", "scale", "value", "stderr (sandwich)", "stderr (lmfit)")
    if boot:
        header += ("bootstrap se", "95% interval")
    rows = []
    for key, value in data["coefficients"].items():
        row = (key, data["fitted_as"][key], fmt(value), _cell(data["stderr"][key]), _cell(data["lmfit_stderr"][key]))
        if boot:
            low, high = boot["ci95"][key]
            row += (fmt(boot["stderr"][key]), f"[{fmt(low)}, {fmt(high)}]")
        rows.append(row)
    law, res, conv, st = data["law"], data["residuals"], data["convergence"], data["starts"]
    lines = [
        f"Fit of the law {law['name']}: L = {law['expression']} to {data['n_runs']} runs from {source} "
        f"(Huber delta = {data['delta']:g})",
        "",
        render_table(rows, header),
        "",
        f"Huber objective:  {data['objective']:.12e}",
        f"Residuals ln(predicted/observed loss): min {res['min']:+.4f}, max {res['max']:+.4f}, "
        f"rms {res['rms']:.4f}; {res['inside_delta']} of {data['n_runs']} inside |r| <= delta",
        f"Search: {st['n']} starts ({st['n'] - st['finite']} with a non-finite objective), {st['refined']} refined "
        f"by Newton{' after IRLS screening' if st['refined'] < st['finite'] else ''}; {st['best_basin']} of those "
        "reached the best basin",
        f"Convergence: gradient norm {conv['gradient_norm']:.2e}, Newton decrement {conv['newton_decrement']:.2e}"
        + ("; the lmfit polish improved the optimum" if conv["polish_improved"] else ""),
        f"stderr (sandwich): {data['stderr_method']}.",
        f"stderr (lmfit): {data['lmfit_stderr_method']}.",
    ]
    if res["inside_delta"] <= 2 * len(data["coefficients"]):
        lines.append(f"Caution: only {res['inside_delta']} residuals lie inside delta, so the fit behaves like an "
                     "L1 fit and the Hessian-based errors are unreliable; prefer --bootstrap.")
    if all(v is None for v in data["stderr"].values()) and not data["on_bound"]:
        lines.append("Caution: the Hessian at the optimum is not positive definite, so some coefficients are not "
                     "identified by these runs and no standard errors are shown; prefer --bootstrap.")
    if data["on_bound"]:
        lines.append("Caution: the optimum sits on a bound (" + "; ".join(data["on_bound"].values())
                     + "), so no standard errors are shown.")
    if boot:
        lines.append(f"Bootstrap: {boot['n']} replicates (seed {boot['seed']}), {boot['n_converged']} converged; "
                     f"{boot['method']}.")
        if 2 * boot["n_converged"] < boot["n"]:
            lines.append(f"Caution: only {boot['n_converged']} of {boot['n']} bootstrap refits converged, so the "
                         "intervals are not reliable: the runs may not identify every coefficient of this law.")
    if out:
        lines.append(f"Wrote {out}")
    lines.append(f"Time: {data['seconds']:.2f} s")
    return "\n".join(lines)


def check_options(law, starts: tuple, bounds: tuple) -> None:
    """--start and --bound belong to a law other than Chinchilla's (whose fit has its own 4,500-point grid)."""
    if law.is_chinchilla and (starts or bounds):
        option = "--start" if starts else "--bound"
        raise CliError(f"{option} applies to --law other than chinchilla; the chinchilla fit searches Chinchilla's "
                       "own 4,500-point grid (give the formula as --law 'E + A/N**alpha + B/D**beta' to choose starts)")
