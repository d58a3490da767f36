"""Rich display for notebooks: HTML tables and concise reprs of solutions, with readable numbers."""

from __future__ import annotations

import html

import numpy as np

from symscale.base import numbers as N


def readable(value) -> str:
    """One number as people read it: 2.418e10, 20.3, 1.947; arrays as their shape."""
    array = np.asarray(value, dtype=float)
    if array.size != 1:
        return f"array{array.shape}"
    number = float(array)
    if number == 0 or 1e-3 <= abs(number) < 1e5:
        return f"{number:.4g}"
    mantissa, exponent = f"{number:.4g}".split("e") if "e" in f"{number:.4g}" else (f"{number:.4g}", "")
    if not exponent:
        mantissa, exponent = f"{number:.3e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def solution_repr(kind: str, solution, total_key: str) -> str:
    """'ComputeSolution(loss=1.947, inference_tokens=2e12: params 2.418e10 (76.2% of Chinchilla), ...)'."""
    params = np.asarray(solution.optimal.params, dtype=float)
    if params.size != 1:
        return (f"{kind}({params.size} scenarios, shape {params.shape}: params {readable(params.min())} .. "
                f"{readable(params.max())})")
    ratio = solution.ratio
    return (f"{kind}(loss={readable(solution.loss)}, inference_tokens={readable(solution.optimal.inference_tokens)}: "
            f"params {readable(solution.optimal.params)} ({_pct(ratio['params'])} of Chinchilla), "
            f"tokens {readable(solution.optimal.tokens)} ({_pct(ratio['tokens'])}), "
            f"{total_key} {_pct(ratio[total_key])})")


def _pct(value) -> str:
    array = np.asarray(value, dtype=float)
    return f"{100 * float(array):.2f}%" if array.size == 1 else f"array{array.shape}"


def solution_html(title: str, solution, keys: tuple[str, ...]) -> str:
    """Baseline, optimum and ratio as an HTML table (one scenario), or a note on the shape for arrays."""
    if np.asarray(solution.optimal.params).size != 1:
        count = np.asarray(solution.optimal.params).size
        return f"<p>{html.escape(title)}: {count} scenarios; index them or use a sweep for a table.</p>"
    rows = []
    for key in keys:
        base, best = float(getattr(solution.baseline, key)), float(getattr(solution.optimal, key))
        ratio = _pct(best / base) if base else ""
        rows.append(f"<tr><td style='text-align:left'>{N.LABELS[key]}</td><td>{N.readable(key, base)}</td>"
                    f"<td>{N.readable(key, best)}</td><td>{ratio}</td></tr>")
    head = "<tr><th></th><th>Chinchilla-style</th><th>Optimal</th><th>optimal / Chinchilla</th></tr>"
    caption = f"{html.escape(title)}: loss {readable(solution.loss)}"
    return f"<table><caption>{caption}</caption>{head}{''.join(rows)}</table>"


def fit_html(result) -> str:
    """A fit result in lmfit's manner: fit statistics, then each coefficient with its standard error."""
    s = result.summary()
    stats = [("runs", s["n_runs"]), ("Huber delta", readable(s["delta"])), ("objective", readable(s["objective"])),
             ("residual rms (ln loss)", readable(s["residuals"]["rms"])),
             ("inside delta", f"{s['residuals']['inside_delta']} of {s['n_runs']}"),
             ("gradient norm", f"{s['convergence']['gradient_norm']:.2e}"), ("seconds", f"{s['seconds']:.2f}")]
    stat_rows = "".join(f"<tr><td style='text-align:left'>{k}</td><td>{v}</td></tr>" for k, v in stats)
    rows = []
    for key, value in s["coefficients"].items():
        err = s["stderr"].get(key)
        rel = f"({100 * err / abs(value):.2f}%)" if err is not None and value else ""
        rows.append(f"<tr><td style='text-align:left'>{key}</td><td>{readable(value)}</td>"
                    f"<td>{'' if err is None else readable(err)}</td><td>{rel}</td></tr>")
    return ("<h4>Fit of L(N, D) = E + A/N^alpha + B/D^beta</h4>"
            f"<table><caption>Fit statistics</caption>{stat_rows}</table>"
            "<table><caption>Coefficients (standard errors: sandwich, Huber M-estimator)</caption>"
            "<tr><th>name</th><th>value</th><th>standard error</th><th>relative error</th></tr>"
            f"{''.join(rows)}</table>")


def bootstrap_html(boot) -> str:
    """Bootstrap replicates: standard errors and 95 % percentile intervals of each coefficient."""
    rows = "".join(f"<tr><td style='text-align:left'>{key}</td><td>{readable(float(np.median(v)))}</td>"
                   f"<td>{readable(boot.stderr[key])}</td><td>[{readable(boot.ci95[key][0])}, "
                   f"{readable(boot.ci95[key][1])}]</td></tr>" for key, v in boot.samples.items())
    return (f"<table><caption>Bootstrap: {boot.n} replicates ({boot.n_converged} converged)</caption>"
            "<tr><th>name</th><th>median</th><th>standard error</th><th>95% interval</th></tr>"
            f"{rows}</table>")
