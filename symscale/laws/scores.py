"""Downstream scores as a planning target: the map Err(L) = eps - k*exp(-gamma*L) from loss to error rate.

Err = 1 - score (or an error-rate column as it is). The map is fitted to runs by least squares through lmfit
(profiled over a grid of gamma for a global start, then polished with all three free), with standard errors,
correlations and a bootstrap that can reuse a law fit's replicate indices (the same multinomial draws for the
same seed). A map is *plannable* only when the error rises with loss (k*gamma > 0) and k is distinguishable
from 0; otherwise planning with it is refused. Inverting the map turns a target score into a target loss:
L = -ln((eps - Err)/k) / gamma.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from symscale.base.errors import InputError

PARAMS = ("eps", "k", "gamma")
GAMMA_GRID = np.linspace(-10.0, 10.0, 401)
"""Profile grid of gamma for the start: for fixed gamma the map is linear in (eps, k)."""
Z_DISTINCT = 2.0
"""k counts as distinguishable from 0 when |k| > Z_DISTINCT standard errors."""


@dataclass(frozen=True)
class ScoreData:
    """Losses and error rates of runs, with the score column they came from."""

    loss: np.ndarray
    error: np.ndarray
    column: str
    is_error: bool
    source: str

    def __len__(self) -> int:
        return len(self.loss)

    @property
    def score(self) -> np.ndarray:
        return self.error if self.is_error else 1.0 - self.error


def map_error(loss, eps, k, gamma):
    """Err(L) = eps - k*exp(-gamma*L) (numpy, broadcasting)."""
    return eps - k * np.exp(-gamma * np.asarray(loss, dtype=float))


def _linear(loss: np.ndarray, err: np.ndarray, w: np.ndarray, gamma: float) -> tuple[float, float, float]:
    """(eps, k, weighted SSE) of the linear least squares fit for a fixed gamma."""
    x = np.column_stack([np.ones_like(loss), -np.exp(-gamma * loss)])
    sw = np.sqrt(w)
    coef, *_ = np.linalg.lstsq(x * sw[:, None], err * sw, rcond=None)
    resid = (x @ coef - err) * sw
    return float(coef[0]), float(coef[1]), float(resid @ resid)


def _start(loss: np.ndarray, err: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The best point of the gamma profile grid."""
    best = min((_linear(loss, err, w, g) + (g,) for g in GAMMA_GRID if g != 0.0), key=lambda t: t[2])
    return np.array([best[0], best[1], best[3]])


def _lmfit(loss: np.ndarray, err: np.ndarray, w: np.ndarray, start: np.ndarray):
    """Least squares polish with lmfit (Levenberg-Marquardt, numeric Jacobian); the lmfit result."""
    import lmfit

    params = lmfit.Parameters()
    for name, value in zip(PARAMS, start):
        params.add(name, value=float(value))
    sw = np.sqrt(w)

    def resid(p) -> np.ndarray:
        with np.errstate(all="ignore"):
            r = (map_error(loss, p["eps"].value, p["k"].value, p["gamma"].value) - err) * sw
        return np.nan_to_num(r, nan=1e6, posinf=1e6, neginf=-1e6)

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return lmfit.minimize(resid, params, method="leastsq", ftol=1e-15, xtol=1e-15, gtol=1e-15, max_nfev=20000)


def _profile_fit(loss: np.ndarray, err: np.ndarray, w: np.ndarray, gamma0: float) -> list:
    """[eps, k, gamma, converged] of a weighted refit by variable projection: (eps, k) by linear least squares
    for each gamma, gamma by a bounded scalar search around ``gamma0`` (the same least-squares optimum)."""
    from scipy.optimize import minimize_scalar

    span = max(abs(gamma0), 1.0)
    result = minimize_scalar(lambda g: _linear(loss, err, w, g)[2], bounds=(gamma0 - span, gamma0 + span),
                             method="bounded", options={"xatol": 1e-10 * span, "maxiter": 500})
    g = float(result.x)
    eps, k, _ = _linear(loss, err, w, g)
    edge = min(g - (gamma0 - span), (gamma0 + span) - g) < 1e-6 * span
    return [eps, k, g, bool(result.success) and not edge]


def _solve(loss: np.ndarray, err: np.ndarray, w: np.ndarray):
    """(theta, lmfit result) of the weighted fit, started from the profile grid."""
    result = _lmfit(loss, err, w, _start(loss, err, w))
    return np.array([result.params[n].value for n in PARAMS]), result


@dataclass
class ScoreMap:
    """A fitted map from loss to error rate, its uncertainty and whether it can be planned with."""

    name: str
    eps: float
    k: float
    gamma: float
    stderr: dict
    correlations: dict | None
    loss_range: list
    score_range: list
    source: str
    column: str
    is_error: bool = False
    n_runs: int = 0
    rms: float = 0.0
    bootstrap: dict | None = field(default=None, repr=False)  # {"eps": array, "k": ..., "gamma": ..., ...}

    @property
    def values(self) -> dict[str, float]:
        return {"eps": self.eps, "k": self.k, "gamma": self.gamma}

    def refusal(self) -> str | None:
        """Why this map cannot be planned with (None when it can)."""
        if not all(math.isfinite(v) for v in self.values.values()):
            return "the fit did not give finite coefficients"
        if self.k * self.gamma <= 0:
            return (f"the fitted map does not let the error fall as loss falls (k = {self.k:.4g}, gamma = "
                    f"{self.gamma:.4g}): the score does not improve with loss on these runs")
        se = self.stderr.get("k")
        if se is None or not math.isfinite(se) or abs(self.k) <= Z_DISTINCT * se:
            shown = "undetermined" if se is None or not math.isfinite(se) else f"{se:.3g}"
            return (f"k = {self.k:.4g} is not distinguishable from 0 (standard error {shown}): the score does "
                    f"not move with loss on these runs (scores {self.score_range[0]:.4g} to {self.score_range[1]:.4g})")
        return None

    def score_of(self, loss):
        """The score the map predicts at ``loss``."""
        err = map_error(loss, self.eps, self.k, self.gamma)
        return err if self.is_error else 1.0 - err

    def to_error(self, score: float) -> float:
        return score if self.is_error else 1.0 - score

    def as_dict(self) -> dict:
        """The JSON shape stored under ``score_maps`` in a coefficients file."""
        data = {**self.values, "stderr": self.stderr, "correlations": self.correlations,
                "loss_range": self.loss_range, "score_range": self.score_range, "source": self.source,
                "column": self.column, "is_error": self.is_error, "n_runs": self.n_runs, "rms": self.rms,
                "plannable": self.refusal() is None, "refusal": self.refusal()}
        if self.bootstrap is not None:
            data["bootstrap"] = {key: (np.asarray(v).tolist() if isinstance(v, np.ndarray) else v)
                                 for key, v in self.bootstrap.items()}
        return data


def fit_score_map(data: ScoreData, name: str | None = None) -> ScoreMap:
    """Fit Err(L) = eps - k*exp(-gamma*L) to the runs by least squares; standard errors from lmfit."""
    if len(data) < 4:
        raise InputError(f"{len(data)} runs cannot determine the 3 coefficients of a score map; give at least 4")
    theta, result = _solve(data.loss, data.error, np.ones(len(data)))
    stderr = {n: (None if result.params[n].stderr is None or not math.isfinite(result.params[n].stderr)
                  else float(result.params[n].stderr)) for n in PARAMS}
    corr = None
    if getattr(result, "errorbars", False):
        corr = {a: {b: 1.0 if a == b else float((result.params[a].correl or {}).get(b, 0.0)) for b in PARAMS}
                for a in PARAMS}
    resid = map_error(data.loss, *theta) - data.error
    score = data.score
    return ScoreMap(name or short_name(data.column), *map(float, theta), stderr, corr,
                    [float(data.loss.min()), float(data.loss.max())], [float(score.min()), float(score.max())],
                    data.source, data.column, data.is_error, len(data), float(np.sqrt(np.mean(resid**2))))


def bootstrap_counts(size: int, n: int, seed: int | None) -> np.ndarray:
    """Replicate weights (n, size): the draws of symscale.solvers.fit.bootstrap and bootstrap_law for the same seed."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(size, np.full(size, 1.0 / size), size=n).astype(float)


def bootstrap_map(data: ScoreData, fitted: ScoreMap, n: int, seed: int | None, joint: str | None = None) -> dict:
    """Refit the map on n resampled sets of runs (the law fit's replicate indices for the same seed)."""
    counts = bootstrap_counts(len(data), n, seed)
    rows = [_profile_fit(data.loss, data.error, w, fitted.gamma) for w in counts]
    arr = np.array([r[:3] for r in rows], dtype=float)
    samples = {p: arr[:, i] for i, p in enumerate(PARAMS)}
    boot = {**samples, "converged": [bool(r[3]) for r in rows], "n": n, "seed": seed,
            "stderr": {p: float(np.std(v, ddof=1)) for p, v in samples.items()},
            "ci95": {p: [float(q) for q in np.percentile(v, [2.5, 97.5])] for p, v in samples.items()}}
    if joint:
        boot["joint_with"] = joint
    fitted.bootstrap = boot
    return boot


def short_name(column: str) -> str:
    """The map's name: the column without a path prefix (eval_gauntlet/core_average -> core_average)."""
    return column.rsplit("/", 1)[-1]


def load_score_data(path: str, score_col: str | None, error_col: str | None, loss_col: str = "Smoothed Loss",
                    lines: np.ndarray | None = None) -> ScoreData:
    """Loss and error rate per run from a CSV file or bundled dataset (rows ``lines`` when given)."""

    import pandas as pd

    from symscale.base.runs import read_runs_frame

    if (score_col is None) == (error_col is None):
        raise InputError("give one of --score-col COLUMN or --error-col COLUMN")
    column = score_col if score_col is not None else error_col
    option = "--score-col" if score_col is not None else "--error-col"
    frame, label = read_runs_frame(path)
    for opt, col in ((option, column), ("--loss-col", loss_col)):
        if col not in frame.columns:
            found = ", ".join(repr(str(c)) for c in frame.columns)
            raise InputError(f"{opt} {column if opt == option else col}: runs {label!r} have no such column; "
                             f"columns found: {found}")
    if lines is not None:
        frame = frame.iloc[np.asarray(lines, dtype=int) - 2]
    loss = pd.to_numeric(frame[loss_col], errors="coerce").to_numpy(dtype=float)
    value = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    rows = np.asarray(frame.index) + 2
    bad = ~(np.isfinite(value) & (value >= 0) & (value <= 1))
    if bad.any():
        raise InputError(f"{option} {column}: values must be rates in [0, 1]; not so at row(s) "
                         f"{', '.join(str(int(r)) for r in rows[bad][:8])}")
    bad = ~(np.isfinite(loss) & (loss > 0))
    if bad.any():
        raise InputError(f"--loss-col {loss_col}: losses must be > 0; not so at row(s) "
                         f"{', '.join(str(int(r)) for r in rows[bad][:8])}")
    error = value if error_col is not None else 1.0 - value
    return ScoreData(loss, error, column, error_col is not None, f"the {len(loss)} runs of {label}")


# ----------------------------------------------------------------------------- reading and planning


def read_score_maps(raw: object, where: str, law_converged: list | None = None) -> dict[str, ScoreMap]:
    """Score maps from a coefficients file's ``score_maps`` object (one-line InputError when malformed).

    A map whose bootstrap was drawn jointly with the law's keeps the replicates the law kept
    (``law_converged``), so replicate b of the map goes with replicate b of the law.
    """
    if not isinstance(raw, dict):
        raise InputError(f"{where}: score_maps must be an object of name: map")
    maps = {}
    for name, item in raw.items():
        if not isinstance(item, dict) or any(not _is_number(item.get(p)) for p in PARAMS):
            raise InputError(f"{where}: score map {name!r} needs numbers eps, k, gamma")
        boot = item.get("bootstrap")
        if boot is not None:
            boot = _read_boot(boot, f"{where}: score map {name!r} bootstrap", law_converged)
        maps[name] = ScoreMap(
            str(name), float(item["eps"]), float(item["k"]), float(item["gamma"]),
            {p: (float(v) if _is_number(v) else None) for p, v in (item.get("stderr") or {}).items()},
            item.get("correlations"), list(item.get("loss_range") or [math.nan, math.nan]),
            list(item.get("score_range") or [math.nan, math.nan]), str(item.get("source", "")),
            str(item.get("column", name)), bool(item.get("is_error", False)), int(item.get("n_runs", 0) or 0),
            float(item.get("rms", 0.0) or 0.0), boot)
    return maps


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _read_boot(boot: object, where: str, law_converged: list | None) -> dict:
    if not isinstance(boot, dict) or any(not isinstance(boot.get(p), list) or not boot[p] for p in PARAMS):
        raise InputError(f"{where} must hold lists eps, k, gamma")
    try:
        arrays = {p: np.asarray(boot[p], dtype=float) for p in PARAMS}
    except (TypeError, ValueError):
        raise InputError(f"{where}: samples must be numbers") from None
    if len({a.size for a in arrays.values()}) != 1:
        raise InputError(f"{where}: eps, k and gamma must have equal lengths")
    keep = np.ones(arrays["eps"].size, dtype=bool)
    if boot.get("joint_with") and law_converged is not None and len(law_converged) == keep.size:
        keep &= np.asarray(law_converged, dtype=bool)
    return {**boot, **{p: a[keep] for p, a in arrays.items()}, "n_used": int(keep.sum())}


@dataclass
class ScoreTarget:
    """A target score turned into the loss its map predicts, with warnings and (optionally) intervals."""

    name: str
    score: float
    loss: float
    score_map: ScoreMap
    warnings: list[str]
    loss_samples: np.ndarray | None = None

    def summary(self) -> dict:
        m = self.score_map
        data = {"name": self.name, "score": self.score, "implied_loss": self.loss,
                "map": {**m.values, "stderr": m.stderr, "score_range": m.score_range, "loss_range": m.loss_range,
                        "source": m.source, "column": m.column}}
        if self.loss_samples is not None:
            finite = self.loss_samples[np.isfinite(self.loss_samples)]
            data["implied_loss_ci95"] = ([float(q) for q in np.percentile(finite, [2.5, 97.5])]
                                         if finite.size >= 2 else None)
            data["n_samples"] = int(self.loss_samples.size)
            data["n_unreachable_samples"] = int(self.loss_samples.size - finite.size)
        return data


def parse_target(text: str) -> tuple[str, float]:
    """--target-score NAME=VALUE."""
    from symscale.base.numbers import parse_number

    name, sep, value = str(text).partition("=")
    name = name.strip()
    if not sep or not name:
        raise InputError(f"--target-score {text!r}: write NAME=VALUE, e.g. --target-score core_average=0.30")
    try:
        score = parse_number(value)
    except ValueError as exc:
        raise InputError(f"--target-score {text!r}: {exc}") from None
    if not 0 <= score <= 1:
        raise InputError(f"--target-score {text!r}: a score is a rate in [0, 1]")
    return name, score


def implied_loss(m: ScoreMap, score: float, e_floor: float | None = None) -> float:
    """The loss at which the map predicts ``score`` (InputError when no loss above ``e_floor`` reaches it)."""
    err = m.to_error(score)
    label = f"--target-score {m.name}={score:g}"
    ratio = (m.eps - err) / m.k
    if not ratio > 0:  # the error never gets that high (or low) at any loss
        limit = float(m.score_of(np.inf if m.gamma > 0 else 0.0))
        raise InputError(f"{label}: no loss gives that score under the map (eps = {m.eps:.4g}, k = {m.k:.4g}, "
                         f"gamma = {m.gamma:.4g}; its score tends to {limit:.4g} as loss grows); "
                         "ask for a higher score")
    loss = -math.log(ratio) / m.gamma
    floor = 0.0 if e_floor is None else e_floor
    if not loss > floor:
        best = float(m.score_of(floor))
        where = f"at the law's irreducible loss E = {floor:.4g}" if e_floor is not None else "at zero loss"
        raise InputError(f"{label} is unreachable: the best score the map allows is {best:.4g} ({where})")
    return loss


def _implied_losses(m: ScoreMap, score: float) -> np.ndarray:
    """Implied loss per bootstrap replicate of the map (nan where a replicate cannot reach the score)."""
    b = m.bootstrap
    err = m.to_error(score)
    with np.errstate(all="ignore"):
        ratio = (b["eps"] - err) / b["k"]
        loss = -np.log(ratio) / b["gamma"]
    return np.where(np.isfinite(loss) & (loss > 0), loss, np.nan)


def target_from(spec: str, coefficients) -> ScoreTarget:
    """Turn --target-score NAME=VALUE into a loss with the coefficients' score map; refuse unplannable maps."""
    name, score = parse_target(spec)
    maps = getattr(coefficients, "score_maps", None) or {}
    if name not in maps:
        known = ", ".join(maps) or "none"
        raise InputError(f"--target-score {spec}: the coefficients {coefficients.name!r} hold no score map {name!r} "
                         f"(score maps: {known}); fit one with `symscale fit-score --runs RUNS --score-col COLUMN "
                         "--output FILE` and give --coefficients FILE")
    m = maps[name]
    reason = m.refusal()
    if reason:
        raise InputError(f"--target-score {spec}: the score map {name!r} cannot be planned with: {reason}")
    e_floor = coefficients.values.get("E") if hasattr(coefficients, "values") else None
    loss = implied_loss(m, score, e_floor)
    notes = _range_warnings(m, score, loss)
    fitted = getattr(coefficients, "fitted_range", None)
    law_source = getattr(fitted, "source", None)
    if law_source != m.source:
        law_text = f"runs {law_source}" if law_source else f"the preset/values {coefficients.name!r}"
        notes.append(f"the score map {name!r} was fitted on {m.source or 'unknown runs'}, the law on {law_text}: "
                     "the two may not describe the same loss")
    samples = _implied_losses(m, score) if m.bootstrap is not None else None
    return ScoreTarget(name, score, loss, m, notes, samples)


def _range_warnings(m: ScoreMap, score: float, loss: float) -> list[str]:
    low, high = m.score_range
    notes = []
    if math.isfinite(low) and score > high:
        notes.append(f"score {score:g} for {m.name!r} lies above the fitted range [{low:.4g}, {high:.4g}] "
                     f"(extrapolates {score / high:.3g}x beyond the highest fitted score; implied loss {loss:.4g} "
                     f"vs lowest fitted loss {m.loss_range[0]:.4g})")
    elif math.isfinite(low) and score < low:
        notes.append(f"score {score:g} for {m.name!r} lies below the fitted range [{low:.4g}, {high:.4g}] "
                     f"(extrapolates {low / score if score > 0 else math.inf:.3g}x beyond the lowest fitted score)")
    return notes
