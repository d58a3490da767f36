"""``symscale fit-score``: fit the map from loss to a downstream score, Err(L) = eps - k*exp(-gamma*L)."""

from __future__ import annotations

import json
import math
import os

import click

from symscale.cli.common import CliError, deprecated_alias, emit_json, fmt, render_table


@click.command("fit-score")
@click.argument("runs_arg", metavar="[RUNS]", required=False, default=None)
@click.option("--runs", "runs_opt", default=None, metavar="FILE|DATASET",
              help="Training runs with a score column: a CSV file or a bundled dataset such as sardana-2024.")
@click.option("--score-col", "score_cols", multiple=True, metavar="COLUMN",
              help="Column with a score (accuracy, higher is better); Err = 1 - score. Repeatable.")
@click.option("--error-col", "error_cols", multiple=True, metavar="COLUMN",
              help="Column that already holds an error rate. Repeatable.")
@click.option("--params-col", default="Parameters", show_default=True, help="Column with parameter counts N.")
@click.option("--tokens-col", default="Tokens", show_default=True, help="Column with training tokens D.")
@click.option("--loss-col", default="Smoothed Loss", show_default=True, help="Column with final loss L.")
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=0), default=0, metavar="N",
              help="Resample runs N times and refit each map (the law fit's replicate indices for the same seed).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random seed (>= 0) for --bootstrap; the same seed gives the same replicates.")
@click.option("--with-law", is_flag=True,
              help="Also fit the law (--law; Chinchilla's by default) to the same runs in this call (same bootstrap "
              "replicates, so law and map uncertainties are carried jointly) and write both to --output.")
@click.option("--law", "law_spec", default=None, metavar="NAME|FORMULA",
              help="With --with-law: the law to fit, a registered law or a formula in N and D, as `fit --law` "
              "[default: chinchilla].")
@deprecated_alias("--out", "-o/--output", "out", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False), default=None, metavar="FILE.json",
              help="Coefficients file to write the maps into (under score_maps): an existing file from "
              "`symscale fit --output` is updated; a new file needs --with-law.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def fit_score(runs_arg, runs_opt, score_cols, error_cols, params_col, tokens_col, loss_col, n_boot, seed, with_law,
              law_spec, out, as_json) -> None:
    """Fit Err(L) = eps - k*exp(-gamma*L) from loss to a downstream error rate (Err = 1 - score).

    Example: symscale fit-score --runs sardana-2024 --score-col eval_gauntlet/core_average --with-law
    --bootstrap 200 --seed 1 --output fit.json; then symscale solve --coefficients fit.json
    --target-score core_average=0.30 ...
    """
    from symscale.laws.scores import bootstrap_map, fit_score_map, load_score_data
    from symscale.solvers import fit as F

    if runs_arg is not None and runs_opt is not None:
        raise CliError(f"give the runs once: as the argument ({runs_arg!r}) or as --runs ({runs_opt!r}), not both")
    runs_csv = runs_opt if runs_opt is not None else runs_arg
    if runs_csv is None:
        raise CliError("give the training runs: --runs FILE.csv or a bundled dataset such as sardana-2024")
    if not score_cols and not error_cols:
        raise CliError("give --score-col COLUMN (or --error-col COLUMN) to fit")
    if law_spec is not None and not with_law:
        raise CliError(f"--law {law_spec} is the law fitted with --with-law; add --with-law")
    from symscale.laws.registry import resolve_law

    law = resolve_law(law_spec)
    existing = _existing(out, with_law)
    runs = F.load_runs(runs_csv, params_col, tokens_col, loss_col)
    if n_boot:
        F.check_bootstrap(n_boot, len(runs), seed)
        if seed is None and with_law:
            import numpy as np

            seed = int(np.random.SeedSequence().entropy % 2**32)  # one seed, shared by law and maps
    maps = {}
    columns = [(c, None) for c in score_cols] + [(None, c) for c in error_cols]
    for score_col, error_col in columns:
        data = load_score_data(runs_csv, score_col, error_col, loss_col, runs.lines)
        m = fit_score_map(data)
        if m.name in maps:
            raise CliError(f"two columns give the score map name {m.name!r}; fit them in separate calls")
        if n_boot:
            bootstrap_map(data, m, n_boot, seed, joint="law fit of this call" if with_law else None)
        maps[m.name] = m
    law_data = _fit_law(F, runs, n_boot, seed, law) if with_law else None
    if out:
        _write(out, existing, maps, law_data)
    data = {"score_maps": {name: _summary(m) for name, m in maps.items()}, "out": out}
    if law_data is not None:
        data["law_fit"] = law_data["summary"]
    if as_json:
        emit_json(data)
    else:
        click.echo(report(maps, out))


def _existing(out: str | None, with_law: bool) -> dict | None:
    """The JSON of an existing --output file (checked before any fitting), or None."""
    if out is None:
        if with_law:
            raise CliError("--with-law writes the law and maps to a file: give --output FILE.json")
        return None
    from symscale.cli.cmd_fit import check_writable

    check_writable(out, "--output")
    if with_law or not os.path.exists(out):
        if not with_law:
            raise CliError(f"--output {out}: no such coefficients file; fit the law first "
                           f"(`symscale fit --output {out}`) "
                           "or add --with-law to fit it in this call")
        return None
    from symscale.laws.coefficients import _read_json

    data = _read_json(out)
    if not isinstance(data, dict):
        raise CliError(f"--output {out}: not a coefficients file (one JSON object)")
    return data


def _fit_law(F, runs, n_boot: int, seed, law) -> dict:
    """The law's fit of the same runs, with the bootstrap drawn from the same seed as the maps (the same
    multinomial replicate weights for Chinchilla's fit and for any other law's)."""
    from symscale.laws.ranges import FittedRange

    try:
        if law.is_chinchilla:
            result = F.fit(runs, name="fit")
            boot = F.bootstrap(runs, result.theta, n_boot, seed) if n_boot else None
        else:
            from symscale.solvers import fit_generic as LF

            result = LF.fit_law(runs, LF.setup(law))
            boot = LF.bootstrap_law(runs, result, n_boot, seed) if n_boot else None
    except F.FitError as exc:
        from symscale.cli.cmd_fit import FitFailed

        raise FitFailed(str(exc)) from None
    fitted = FittedRange.of_runs(runs.params, runs.tokens, f"the {len(runs)} runs of {runs.source}")
    summary = result.summary()
    if boot is not None:
        summary["bootstrap"] = boot.summary()
    return {"result": result, "boot": boot, "fitted": fitted, "summary": summary, "law": law}


def _write(out: str, existing: dict | None, maps: dict, law_data: dict | None) -> None:
    """Write the maps under score_maps: into the existing file, or beside a fresh law fit."""
    from symscale.base.files import write_text_atomic
    from symscale.laws.coefficients import Coefficients, save_coefficients

    if law_data is not None:
        result, boot, law = law_data["result"], law_data["boot"], law_data["law"]
        samples = None if boot is None else boot.samples
        if law.is_chinchilla:
            c = result.coefficients
            coeffs = Coefficients(**c.as_dict(), name=c.name, source=c.source, samples=samples,
                                  fitted_range=law_data["fitted"])
        else:
            from symscale.laws.values import LawCoefficients

            coeffs = LawCoefficients(law, result.values, name="fit", source=result.source, samples=samples,
                                     fitted_range=law_data["fitted"])
        extra = {"fit": {"objective": result.objective, "n_runs": result.n_runs, "stderr": result.stderr},
                 "score_maps": {name: m.as_dict() for name, m in maps.items()}}
        save_coefficients(coeffs, out, extra, converged=None if boot is None else boot.converged)
        return
    data = dict(existing)
    data["score_maps"] = {**(data.get("score_maps") or {}), **{name: m.as_dict() for name, m in maps.items()}}
    write_text_atomic(out, json.dumps(data, indent=2) + "\n")


def _summary(m) -> dict:
    data = m.as_dict()
    boot = data.pop("bootstrap", None)
    if boot is not None:
        data["bootstrap"] = {key: boot[key] for key in ("n", "seed", "stderr", "ci95") if key in boot}
        data["bootstrap"]["joint_with"] = boot.get("joint_with")
    return data


def report(maps: dict, out: str | None) -> str:
    """The human-readable report: one table per map, and the verdict on planning with it."""
    lines = []
    for m in maps.values():
        header = ("coefficient", "value", "stderr (lmfit)")
        if m.bootstrap:
            header += ("bootstrap se", "95% interval")
        rows = []
        for p in ("eps", "k", "gamma"):
            se = m.stderr.get(p)
            row = (p, fmt(m.values[p]), "-" if se is None or not math.isfinite(se) else fmt(se))
            if m.bootstrap:
                low, high = m.bootstrap["ci95"][p]
                row += (fmt(m.bootstrap["stderr"][p]), f"[{fmt(low)}, {fmt(high)}]")
            rows.append(row)
        kind = "error rate" if m.is_error else "1 - score"
        lines += [f"Score map {m.name!r}: Err(L) = eps - k*exp(-gamma*L), Err = {kind} of column {m.column!r}, "
                  f"least squares (lmfit) on {m.source}", "", render_table(rows, header), "",
                  f"Fitted on losses [{m.loss_range[0]:.4g}, {m.loss_range[1]:.4g}], scores "
                  f"[{m.score_range[0]:.4g}, {m.score_range[1]:.4g}]; rms residual {m.rms:.4g}"]
        if m.correlations:
            c = m.correlations
            lines.append(f"Correlations: eps-k {c['eps']['k']:+.3f}, eps-gamma {c['eps']['gamma']:+.3f}, "
                         f"k-gamma {c['k']['gamma']:+.3f}")
        if m.bootstrap:
            b = m.bootstrap
            joint = f", jointly with the {b['joint_with']}" if b.get("joint_with") else ""
            lines.append(f"Bootstrap: {b['n']} replicates (seed {b['seed']}){joint}.")
        reason = m.refusal()
        lines.append("Planning: usable with --target-score." if reason is None
                     else f"Planning: refused, {reason}.")
        lines.append("")
    if out:
        lines.append(f"Wrote {out}")
    return "\n".join(lines).rstrip()


COMMANDS = [fit_score]
