"""--target-score in a solve report: the score, the loss it implies, and their bootstrap intervals."""

from __future__ import annotations

import numpy as np

from symscale.base import numbers as N


def add_score_target(report: dict, target, coefficients, settings=None) -> None:
    """Put the target score block (and its warnings) into a solve report.

    With bootstrap samples of the map, each replicate's implied loss is solved with the law's replicate of
    the same index when the law has as many (a joint fit: the uncertainties carried together), else with the
    law's point values; the percentile intervals of the implied loss and of the optimal model are reported.
    """
    block = target.summary()
    if target.loss_samples is not None:
        block["optimal_ci95"] = _optimal_intervals(target, coefficients, report, settings)
    report["target_score"] = block
    report.setdefault("warnings", []).extend(target.warnings)


def _optimal_intervals(target, coefficients, report: dict, settings) -> dict | None:
    """95 % intervals of the optimal params and tokens over the replicates (None when fewer than two solve)."""
    from symscale.base.errors import InputError

    losses = target.loss_samples
    samples = coefficients.samples
    joint = samples is not None and len(next(iter(samples.values()))) == losses.size
    params, tokens = [], []
    for b, loss in enumerate(losses):
        if not np.isfinite(loss):
            continue
        coeffs = coefficients.with_values(**{k: float(v[b]) for k, v in samples.items()}) if joint else coefficients
        try:
            model = _solve_one(float(loss), coeffs, report, settings)
        except InputError:  # the replicate's loss is below that replicate's E: unreachable for it
            continue
        params.append(model[0])
        tokens.append(model[1])
    if len(params) < 2:
        return None
    return {"params": [float(q) for q in np.percentile(params, [2.5, 97.5])],
            "tokens": [float(q) for q in np.percentile(tokens, [2.5, 97.5])],
            "n_solved": len(params), "law_samples": "joint (same replicate indices)" if joint else "point values"}


def _solve_one(loss: float, coefficients, report: dict, settings) -> tuple[float, float]:
    if settings is None:
        from symscale.solvers.solve import solve_compute_optimal

        sol = solve_compute_optimal(loss, report["inference_tokens"], coefficients)
    else:
        from symscale.solvers.costs import solve_cost_optimal

        sol = solve_cost_optimal(loss, settings, coefficients)
    return float(np.asarray(sol.optimal.params).ravel()[0]), float(np.asarray(sol.optimal.tokens).ravel()[0])


def render_score_target(report: dict) -> str:
    """Lines for the text output of solve: the score asked for and the loss the map implies."""
    t = report.get("target_score")
    if not t:
        return ""
    m = t["map"]
    lines = [f"Target score: {t['name']} = {t['score']:g} -> loss {t['implied_loss']:.4f} by the map "
             f"Err = {m['eps']:.4g} - {m['k']:.4g}*exp(-{m['gamma']:.4g}*L) (fitted on {m['source']})"]
    if t.get("implied_loss_ci95"):
        low, high = t["implied_loss_ci95"]
        lines.append(f"  implied loss 95 % interval [{low:.4f}, {high:.4f}] over {t['n_samples']} map replicates"
                     + (f" ({t['n_unreachable_samples']} could not reach the score)" if t["n_unreachable_samples"]
                        else ""))
    ci = t.get("optimal_ci95")
    if ci:
        lines.append(f"  optimal params [{N.count(ci['params'][0])}, {N.count(ci['params'][1])}], tokens "
                     f"[{N.count(ci['tokens'][0])}, {N.count(ci['tokens'][1])}] (95 %, {ci['n_solved']} replicates, "
                     f"law: {ci['law_samples']})")
    return "\n".join(lines)


def report_score_option(func):
    """--report-score NAME (repeatable): the score a score map of --coefficients FILE predicts at the loss found."""
    import click

    return click.option("--report-score", "report_scores", multiple=True, metavar="NAME",
                        help="Also report the score NAME that the score map of --coefficients FILE "
                        "(`symscale fit-score`) predicts at the best loss (repeatable).")(func)


def scores_at(names: tuple[str, ...], spec: str, loss: float) -> dict:
    """{name: {score, refusal}} of the score maps in coefficients ``spec`` at ``loss``; InputError if absent."""
    from symscale.base.errors import InputError
    from symscale.laws.coefficients import resolve

    if not names:
        return {}
    maps = getattr(resolve(spec), "score_maps", None) or {}
    out = {}
    for name in names:
        if name not in maps:
            raise InputError(f"--report-score {name}: the coefficients {spec!r} hold no score map {name!r} "
                             f"(score maps: {', '.join(maps) or 'none'})")
        m = maps[name]
        reason = m.refusal()
        out[name] = {"score": None if reason else float(m.score_of(loss)), "refusal": reason}
    return out


def render_scores(scores: dict) -> str:
    """One line per reported score."""
    return "\n".join(f"Score {name} at that loss: " + (f"{s['score']:.4f}" if s["score"] is not None
                                                       else f"not given ({s['refusal']})")
                     for name, s in scores.items())
