"""Commands `verify`, `closed-form` and `check-proof`: high precision, special betas and the Appendix A check.

sympy, mpmath and the modules built on them are imported inside the commands, so that starting the
CLI (and the `solve` path) stays light.
"""

from __future__ import annotations

import csv
import time

import click
import numpy as np

from symscale.base.errors import InputError
from symscale.base.precision import MAX_DPS, MIN_DPS
from symscale.cli.common import (
    NON_NEGATIVE,
    POSITIVE,
    coefficient_option,
    coefficient_options,
    coefficients_from_options,
    emit_json,
    parse_number,
)
from symscale.cli.cost_options import (
    cost_options,
    cost_settings_from_options,
    hardware_options,
    objective_option,
    paper_settings_option,
    refuse_cost_options,
)
from symscale.cli.options import (
    demand_options,
    demand_spec_from_options,
    loss_from_options,
    quality_options,
    split_options,
)
from symscale.laws.coefficients import NAMES, check_domain

DPS = click.option("--dps", type=click.IntRange(MIN_DPS, MAX_DPS), default=50, show_default=True,
                   help=f"Significant digits for the mpmath computation ({MIN_DPS} to {MAX_DPS}).")


# --- verify --------------------------------------------------------------------------------------
def _csv_rows(path: str) -> list[dict]:
    """The rows of a user's scenario CSV (read with the size cap and text check of symscale.base.files)."""
    import io

    from symscale.base.files import read_user_text

    text = read_user_text(path, "scenario file")
    try:
        return list(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputError(f"scenario file {path!r} cannot be read: {exc}") from None


def read_scenarios(path: str, demand_column: str = "inference_tokens") -> tuple[np.ndarray, np.ndarray, list | None]:
    """loss, the demand column (inference_tokens, or requests for the cost objective) and optional per-row
    coefficients from a CSV file."""
    rows = _csv_rows(path)
    if not rows or not {"loss", demand_column} <= set(rows[0]):
        raise InputError(f"scenario file {path!r} needs a header with columns loss, {demand_column} "
                         "(optional: alpha, beta, A, B, E)")
    try:
        loss = np.array([parse_number(r["loss"]) for r in rows])
        demand = np.array([parse_number(r[demand_column]) for r in rows])
    except (ValueError, TypeError) as exc:
        raise InputError(f"scenario file {path!r}: {exc}") from None
    present = [key for key in NAMES if key in rows[0]]
    if not present:
        return loss, demand, None
    return loss, demand, present


def _per_row(path: str, present: list, base) -> list:
    """One Coefficients per CSV row: the base with the row's coefficient columns (empty cells keep the base)."""
    rows = _csv_rows(path)
    out = []
    for n, row in enumerate(rows, start=2):
        try:
            values = {key: parse_number(row[key]) for key in present if (row[key] or "").strip()}
        except ValueError as exc:
            raise InputError(f"scenario file {path!r}, line {n}: {exc}") from None
        row_coefficients = base.with_values(**values) if values else base
        check_domain(row_coefficients)
        out.append(row_coefficients)
    return out


def random_scenarios(count: int, seed: int, coefficients) -> tuple[np.ndarray, np.ndarray]:
    """Random reachable losses (E + 0.02 .. E + 1.5) and log-uniform demands (1e6 .. 1e16 tokens, some zero)."""
    rng = np.random.default_rng(seed)
    if not coefficients.law.is_chinchilla:  # another law: its losses at N = 1e8..1e12 parameters, 20 tokens each
        from symscale.verify.generic import random_law_losses

        loss = random_law_losses(count, rng, coefficients)
    else:
        loss = coefficients.E + rng.uniform(0.02, 1.5, count)
    demand = 10 ** rng.uniform(6, 16, count)
    demand[rng.random(count) < 0.05] = 0.0
    return loss, demand


# mpmath seconds per scenario at 50 digits (measured ~0.003 s; grows about as dps**1.5), and the time allowed
VERIFY_SECONDS_AT_50 = 0.003
MAX_VERIFY_SECONDS = 10.0  # a verification is a check, not a batch job: refuse what would take longer (estimated)


def check_verify_size(count: int, dps: int, what: str) -> None:
    """Refuse (InputError) a verification estimated to take longer than MAX_VERIFY_SECONDS, before starting it."""
    each = VERIFY_SECONDS_AT_50 * max(dps / 50, 1.0) ** 1.5
    seconds = count * each
    if seconds > MAX_VERIFY_SECONDS:
        most = int(MAX_VERIFY_SECONDS / each)
        raise InputError(f"{what}: {count} scenarios at {dps} digits would take about {_duration(seconds)} "
                         f"(limit {_duration(MAX_VERIFY_SECONDS)}, i.e. at most {most} scenarios at that --dps); "
                         "verify fewer scenarios or use a lower --dps")


def _duration(seconds: float) -> str:
    """'5 min', '2.3 h'."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@click.command("verify")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None,
              help="Scenarios from a CSV file: columns loss and inference_tokens (--objective cost: requests), "
              "optional alpha, beta, A, B, E.")
@click.option("--loss", "loss_range", default=None, metavar="GRID",
              help="Grid of losses: start:stop:count or a,b,c (with a demand grid).")
@click.option("--inference-tokens", "demand_range", default=None, metavar="GRID",
              help="Grid of lifetime inference tokens (compute objective).")
@click.option("--requests", "requests_range", default=None, metavar="GRID",
              help="Grid of lifetime requests (--objective cost).")
@click.option("--log", "log_grid", is_flag=True, help="Geometric spacing for every start:stop:count grid.")
@click.option("--log-quality", is_flag=True, help="Geometric spacing for the loss grid only.")
@click.option("--log-demand", is_flag=True, help="Geometric spacing for the demand grid only.")
@click.option("--random", "random_count", type=click.IntRange(1, 10**6), default=None,
              help="Verify this many random scenarios (seeded).")
@click.option("--seed", type=click.IntRange(0, 2**64 - 1), default=0, show_default=True,
              help="Seed for --random (a whole number from 0 to 2^64 - 1).")
@objective_option("compute: FLOPs (demand in inference tokens); cost: dollars (demand in requests), priced with the "
                  "hardware, price, MFU and input/output-token options (which need it).")
@paper_settings_option
@hardware_options
@split_options
@coefficient_options
@DPS
@click.option("--min-digits", type=click.FloatRange(0, 17), default=10.0, show_default=True,
              help="Agreeing significant digits the float solution must reach.")
@click.option("--all", "show_all", is_flag=True,
              help="List every scenario in the table; without it the table lists the failing scenarios only "
              "(none when all pass), however many there are.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def verify_command(csv_path, loss_range, demand_range, requests_range, log_grid, log_quality, log_demand,
                   random_count, seed, objective, dps, min_digits, show_all, as_json, **kwargs) -> None:
    """Re-solve many scenarios at high precision and check the float solver (exit 1 if any fails).

    Scenarios come from --csv, from a grid (--loss GRID with --inference-tokens GRID, or --requests GRID
    under --objective cost) or from --random N. Each is solved by the float solver and verified with
    mpmath (see `solve --verify`). JSON: `summary` and `scenarios`, a list also for one scenario.
    """
    from symscale.verify.chinchilla import summarise, verify_batch

    coefficients = coefficients_from_options(kwargs)
    settings = _verify_settings(objective, kwargs)
    demand_name = "--requests" if settings is not None else "--inference-tokens"
    demand_text = requests_range if settings is not None else demand_range
    if settings is None and requests_range is not None:
        raise InputError("--requests GRID is the cost objective's demand: add --objective cost (the compute "
                         "objective takes --inference-tokens GRID)")
    if settings is not None and demand_range is not None:
        raise InputError("--objective cost takes its demand as --requests GRID, not --inference-tokens")
    grid = loss_range is not None or demand_text is not None
    sources = sum(x is not None for x in (csv_path, random_count)) + grid
    if sources != 1:
        raise InputError(f"give exactly one source of scenarios: --csv FILE, a grid (--loss and {demand_name}) "
                         "or --random N")
    per_row = coefficients
    if csv_path:
        loss, demand, present = read_scenarios(csv_path, "requests" if settings is not None else "inference_tokens")
        check_verify_size(loss.size, dps, f"--csv {csv_path!r}")
        if present and not coefficients.law.is_chinchilla:
            raise InputError(f"--csv {csv_path!r}: per-row coefficient columns ({', '.join(present)}) apply to the "
                             f"chinchilla law, not to the law {coefficients.law.name}")
        if present:
            per_row = _per_row(csv_path, present, coefficients)
    elif random_count:
        check_verify_size(random_count, dps, f"--random {random_count}")
        loss, demand = random_scenarios(random_count, seed, coefficients)
        if settings is not None:  # the same token demands, as requests of the settings' tokens per request
            demand = demand / float(settings.input_tokens + settings.output_tokens)
    else:
        if loss_range is None or demand_text is None:
            raise InputError(f"a grid needs both --loss GRID and {demand_name} GRID")
        from symscale.scenarios.sweep import parse_grid

        grid_loss = parse_grid(loss_range, log_grid or log_quality, "--loss")
        grid_demand = parse_grid(demand_text, log_grid or log_demand, demand_name)
        check_verify_size(grid_loss.size * grid_demand.size, dps,
                          f"the grid --loss {loss_range} x {demand_name} {demand_text}")
        loss, demand = (a.ravel() for a in np.meshgrid(grid_loss, grid_demand, indexing="ij"))
    start = time.perf_counter()
    if coefficients.law.is_chinchilla:
        results = verify_batch(loss, demand, per_row, dps=dps, min_digits=min_digits, settings=settings)
    else:
        if settings is not None:
            raise InputError(f"--law {coefficients.law.name}: verify checks the dollar optimum of the chinchilla "
                             "law only; use --objective compute, or solve --objective cost --verify for one scenario")
        from symscale.verify.generic import verify_law_batch

        results = verify_law_batch(loss, demand, coefficients, dps=dps, min_digits=min_digits)
    elapsed = time.perf_counter() - start
    summary = {**summarise(results), "objective": objective, "dps": dps, "seconds": round(elapsed, 3)}
    if settings is not None:
        from symscale.cli.cost_options import plain_settings

        summary["settings"] = {k: v for k, v in plain_settings(settings).items()
                               if k not in ("requests", "inference_tokens")}
    if as_json:
        emit_json({"summary": summary, "scenarios": results})
    else:
        click.echo(_render_batch(results, summary, show_all))
    if summary["failed"]:
        raise SystemExit(1)


def _sci(value, digits: int = 2) -> str:
    """A residual in scientific notation, '-' where there is none (an optimum on a kink of the law)."""
    return "-" if value is None else f"{value:.{digits}e}"


def _verify_settings(objective: str, kwargs: dict):
    """The cost settings of --objective cost (demand from the scenarios), or None after refusing cost options."""
    if objective != "cost":
        refuse_cost_options(kwargs)
        return None
    from symscale.cli.options import Demand

    inp, out = kwargs.pop("input_tokens"), kwargs.pop("output_tokens")
    return cost_settings_from_options(kwargs, Demand(input_tokens=inp, output_tokens=out), force=True)


def _render_batch(results: list[dict], summary: dict, show_all: bool) -> str:
    """Summary lines and a table of failing (or, with --all or few rows, all) scenarios."""
    from symscale.cli.common import render_table

    lines = [
        f"{summary['verified']} of {summary['scenarios']} scenarios verified at {summary['dps']} digits "
        f"in {summary['seconds']:.2f} s",
        f"  fewest agreeing digits: params {summary['min_digits_params']:g}, tokens {summary['min_digits_tokens']:g}",
        f"  largest KKT residual (relative, at the precise optimum): {_sci(summary['max_kkt_residual_relative'])}",
        f"  every optimum a constrained minimum: {'yes' if summary['all_minima'] else 'NO'}",
    ]
    shown = results if show_all else [r for r in results if not r["verification"]["ok"]]
    if shown:
        rows = [(f"{r['loss']:.4f}", f"{r.get('requests', r['inference_tokens']):.3e}", f"{r['params']:.6e}",
                 f"{r['tokens']:.6e}",
                 f"{r['verification']['digits']['params']:.1f}", f"{r['verification']['digits']['tokens']:.1f}",
                 _sci(r["verification"].get("kkt_residual_relative"), 1),
                 "ok" if r["verification"]["ok"] else "FAIL: " + "; ".join(r["verification"]["failures"]))
                for r in shown]
        demand = "requests" if summary.get("objective") == "cost" else "inference"
        header = ("loss", demand, "params", "tokens", "digits N", "digits D", "KKT rel", "result")
        lines += ["", render_table(rows, header)]
    elif not show_all:
        lines.append("  (no failures to list; --all lists every scenario)")
    return "\n".join(lines)


# --- closed-form ----------------------------------------------------------------------------------
@click.command("closed-form", short_help="Eq. 12 for rational beta: the polynomial, radicals or its Galois group.")
@click.option("--beta", "beta_text", required=True, metavar="P/Q",
              help="Rational token exponent: 1/2, 0.5, 2, 1/3, ... (denominator at most 1000).")
@click.option("--loss", type=POSITIVE, default=1.947, show_default=True, help="Target loss.")
@objective_option("compute: rho = D_inf/3; cost: rho = k_inf/k_train from the hardware, price, MFU and "
                  "input/output-token options (which need it).")
@cost_options
@click.option("--k-train", type=POSITIVE, default=None, help="Give the objective's weights directly (with --k-inf).")
@click.option("--k-inf", type=NON_NEGATIVE, default=None, help="Inference weight (rho = k_inf/k_train).")
@click.option("--coefficients", "coefficients_spec", default="chinchilla", show_default=True,
              metavar="PRESET|FILE.json",
              help="alpha, A, B, E from a preset or file (beta comes from --beta).")
@coefficient_option("alpha")
@coefficient_option("A")
@coefficient_option("B")
@coefficient_option("E")
@DPS
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def closed_form_command(beta_text, loss, objective, k_train, k_inf, dps, as_json, **kwargs) -> None:
    """Eq. 12 for rational beta = p/q as a polynomial in t = D^(-1/q): radicals or Galois group.

    Degree <= 4: D* in radicals, checked against the float solver and mpmath. Degree 5 and 6: the
    Galois group of the exact instance decides whether any expression in radicals exists. Demand
    is 0 unless given (as in `solve`), for both objectives; the JSON states it (`inference_tokens`).
    """
    from symscale.verify.closed_forms import analyse, parse_beta, render

    beta = parse_beta(beta_text)
    kwargs["beta"] = None
    base = coefficients_from_options(kwargs)
    rho, demand = _closed_form_rho(objective, k_train, k_inf, kwargs)
    result = analyse(beta, loss, rho, base.alpha, base.A, base.B, base.E, dps=dps)
    if as_json:
        emit_json({**result.as_dict(), "loss": loss, "rho": float(rho), "objective": objective,
                   "inference_tokens": demand,
                   "coefficients": {"alpha": base.alpha, "A": base.A, "B": base.B, "E": base.E}})
    else:
        said = "given by --k-train/--k-inf" if demand is None else f"{demand:.6g} tokens"
        click.echo(f"Lifetime inference demand: {said}; rho = k_inf/k_train = {float(rho):.6g}\n" + render(result))


def _closed_form_rho(objective: str, k_train, k_inf, kwargs: dict):
    """(rho = k_inf / k_train as an exact rational, lifetime inference tokens or None) from explicit weights or
    the objective's options (demand 0 unless given)."""
    from symscale.base.flops import INFERENCE_FLOPS_PER_PARAM_TOKEN, TRAIN_FLOPS_PER_PARAM_TOKEN
    from symscale.verify.closed_forms import exact

    demand = demand_spec_from_options(kwargs)
    if (k_train is None) != (k_inf is None):
        raise InputError("give both --k-train and --k-inf, or neither")
    if objective == "cost":
        if k_train is not None:
            raise InputError("--k-train/--k-inf give the weights directly: leave out --objective cost")
        settings = cost_settings_from_options(kwargs, demand, force=True)
        k_train, k_inf = settings.weights()
        return (_checked_rho(exact(float(k_inf)) / exact(float(k_train)), "k_inf / k_train from the cost options"),
                float(settings.inference_tokens))
    refuse_cost_options(kwargs, demand)
    if k_train is not None:
        if demand.inference_tokens is not None or demand.requests is not None:
            raise InputError("--k-train/--k-inf give the weights directly: leave out the demand options")
        return _checked_rho(exact(k_inf) / exact(k_train), f"--k-inf {k_inf:g} / --k-train {k_train:g}"), None
    tokens = demand.lifetime_tokens()
    rho = exact(INFERENCE_FLOPS_PER_PARAM_TOKEN) * exact(tokens) / exact(TRAIN_FLOPS_PER_PARAM_TOKEN)  # no overflow
    return _checked_rho(rho, f"2 x inference tokens {tokens:g} / 6"), float(tokens)


def _checked_rho(rho, source: str):
    """rho must be 0 or within float64, since the float solver is compared with the exact answer."""
    from symscale.solvers.solve import FLOAT_MAX, FLOAT_TINY

    if rho != 0 and not FLOAT_TINY <= rho <= FLOAT_MAX:
        shown = "more than 1.8e+308" if rho > FLOAT_MAX else f"{float(rho):g}"
        raise InputError(f"rho = {source} = {shown} is beyond floating-point range "
                         "(float64 holds 2.2e-308 to 1.8e+308)")
    return rho


# --- check-proof ---------------------------------------------------------------------------------
def _latex_alias(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    """The old --latex flag: kept for one release as --format latex, with a one-line note."""
    from symscale.cli.common import NOTES

    if value:
        NOTES.append("Note: --latex is renamed --format latex; the old name will be removed")
    return value


@click.command("check-proof")
@quality_options
@demand_options
@coefficient_options
@click.option("--step", "step_key", default=None, metavar="ID",
              help="Show one step: 7..12 for the equations, or numeric-form, claim-a, claim-c, root, minimum, "
              "chinchilla-limit, theorem (with --interactive: the step to start at).")
@click.option("--interactive", is_flag=True,
              help="A command interpreter over the steps (next, back, goto, list, show, latex, set, check, why, "
              "help, quit); reads typed or piped lines, ends at quit or end of input.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "latex"]), default=None,
              help="text: the verdict table and every step; json: one JSON object; latex: each step's derived and "
              "printed forms in LaTeX (math mode) [default: text].")
@click.option("--json", "as_json", is_flag=True, help="Shorthand for --format json.")
@click.option("--latex", "old_latex", is_flag=True, hidden=True, callback=_latex_alias,
              help="Deprecated: --format latex.")
def check_proof_command(step_key, interactive, fmt, as_json, old_latex, **kwargs) -> None:
    """Walk Appendix A of the paper step by step, derived with sympy beside the printed version.

    Every step gets a verdict (holds, imprecise, fails), an explanation and a check re-run at the
    inputs: the same quality, demand and coefficient options as `solve`. Unlike the planning
    commands, whose demand is 0 unless given, the proof is walked at the paper's worked example where
    no quality or no demand option is given (loss 1.947, 2e12 inference tokens, chinchilla: the
    proof is about a positive demand); the first line of the output states the inputs used. The
    exit status is 0 whatever the verdicts (the findings are the output).
    """
    from symscale.verify.proof import ProofReport, check_proof, fit_width, normalise_step_id, render, render_latex

    inputs = proof_inputs(kwargs)
    if step_key is not None and not step_key.strip():
        raise InputError("--step '': give a step id (7-12, numeric-form, claim-a, claim-c, root, minimum, "
                         "chinchilla-limit, theorem)")
    wanted = normalise_step_id(step_key) if step_key is not None else None
    fmt = _proof_format(fmt, as_json, old_latex)
    if interactive:
        if fmt != "text":
            raise InputError("--interactive prints its own output: leave out --format, --json and --latex")
        _interactive(inputs, wanted)
        return
    report = check_proof(inputs)
    steps = ProofReport([s for s in report if s.id == wanted], inputs) if wanted else report
    if fmt == "json":
        emit_json(steps.as_dict())   # counts are those of the steps listed
    elif fmt == "latex":
        click.echo(render_latex(steps))
    else:
        click.echo(render(report) if not wanted else fit_width(f"Inputs: {inputs.describe()}\n\n{steps[0]}"))


def _proof_format(fmt: str | None, as_json: bool, old_latex: bool) -> str:
    """The one rendering asked for by --format, --json or the old --latex (two different ones: an error)."""
    asked = {name for name, given in (("json", as_json), ("latex", old_latex), (fmt, fmt is not None)) if given}
    if len(asked) > 1:
        raise InputError(f"--format, --json and --latex ask for different outputs ({', '.join(sorted(asked))}): "
                         "give one")
    return asked.pop() if asked else "text"


MAX_PROOF_DEMAND = 1e24
"""Demand beyond any deployment (1e24 tokens) makes the exact steps' numbers huge: refused, not hung on."""


def proof_inputs(kwargs: dict):
    """The proof's inputs from solve's quality, demand and coefficient options (defaults: the README example)."""
    from symscale.verify.proof import DEFAULT_DEMAND, DEFAULT_LOSS, Inputs, num

    coefficients = coefficients_from_options(kwargs)
    quality = ("loss", "chinchilla_params", "chinchilla_tokens", "chinchilla_compute", "quality_of")
    given = {key: kwargs[key] for key in quality if kwargs.get(key) is not None}
    if given:
        said = ", ".join(f"--{key.replace('_', '-')} {num(value)}" for key, value in given.items())
        loss = loss_from_options(kwargs, coefficients)
        said = said if "loss" in given else f"the loss {num(loss)} of {said}"
    else:
        for key in quality:
            kwargs.pop(key)
        loss, said = DEFAULT_LOSS, f"the default loss {num(DEFAULT_LOSS)}"
    demand = demand_spec_from_options(kwargs).lifetime_tokens(default=None)
    demand = DEFAULT_DEMAND if demand is None else demand
    if demand > MAX_PROOF_DEMAND:
        raise InputError(f"inference demand {num(demand)} tokens: check-proof evaluates the proof's steps exactly "
                         f"(sympy, Galois groups), which is bounded here to demand <= {MAX_PROOF_DEMAND:g} tokens")
    if loss <= coefficients.E:
        raise InputError(f"unreachable: {said} is not above the law's floor E = {num(coefficients.E)} "
                         f"({_coefficient_words(coefficients)}); give --loss above E")
    return Inputs(coefficients, float(loss), float(demand))


def _coefficient_words(coefficients) -> str:
    """Where E came from: the preset, or the override the user gave."""
    from symscale.verify.proof import num

    if coefficients.name == "custom":
        base, _, values = coefficients.source.partition(" with ")
        return f"{base} with " + ", ".join(f"--{key} {num(value)}" for key, value in eval_overrides(values).items())
    return f"coefficients {coefficients.name}"


def eval_overrides(text: str) -> dict:
    """The overrides dict in a Coefficients.source ('chinchilla with {'E': 2.5}')."""
    import ast

    try:
        return dict(ast.literal_eval(text))
    except (ValueError, SyntaxError):
        return {}


def _interactive(inputs, start: str | None) -> None:
    """Run the command interpreter on stdin: a prompt at a terminal, each command echoed when piped."""
    import sys

    from symscale.verify.proof_session import run

    stream = sys.stdin
    tty = bool(getattr(stream, "isatty", lambda: False)())

    def lines():
        while True:
            if tty:
                click.echo("proof> ", nl=False)
            line = stream.readline()
            if not line:
                if tty:
                    click.echo()
                return
            if not tty:
                click.echo(f"> {line.rstrip()}")
            yield line

    from symscale.verify.proof import fit_width

    run(inputs, lines(), lambda text="": click.echo(fit_width(text)), start)  # lines of at most 120 characters
    sys.stdout.flush()


PROOF_DEFAULTS = {"loss": "[default: 1.947, the paper's example, when no quality option is given]",
                  "inference_tokens": "[default: 2e12, the paper's example, when no demand option is given]",
                  "requests": "[default: none; without a demand option the proof uses 2e12 inference tokens]"}
for _param in check_proof_command.params:  # the proof's own defaults (see its help), not the planners' 0
    if _param.name in PROOF_DEFAULTS:
        _param.help = (_param.help or "").split(" [default")[0].split(" (compute objective; default")[0] + (
            " " + PROOF_DEFAULTS[_param.name])

COMMANDS = [verify_command, closed_form_command, check_proof_command]
