"""`symscale sweep`: a quality x demand grid of scenarios, solved and written chunk by chunk (CSV, JSON, Parquet)."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator

import click
import numpy as np

from symscale.base.errors import InputError
from symscale.cli.cmd_solve import coefficient_block
from symscale.cli.common import POSITIVE, coefficient_options, coefficients_from_options, is_terminal
from symscale.cli.cost_options import (
    hardware_options,
    objective_option,
    paper_settings_option,
    pop_hardware,
    refuse_cost_options,
)
from symscale.cli.limit_options import limit_options
from symscale.cli.options import split_options


def _one_of(kwargs: dict, names: tuple[str, ...], what: str) -> tuple[str, str]:
    """Pop the given options and return the single (name, value) that was set."""
    given = {name: kwargs.pop(name) for name in names}
    given = {name: value for name, value in given.items() if value is not None}
    if len(given) != 1:
        flags = " or ".join("--" + name.replace("_", "-") for name in names)
        raise InputError(f"give the {what} axis exactly once: {flags}")
    return next(iter(given.items()))


@contextlib.contextmanager
def progress_reporter(total: int, label: str, quiet: bool) -> Iterator[Callable[[int], None] | None]:
    """A click progress bar on stderr when it is a terminal and not ``quiet``; otherwise nothing."""
    if quiet or not is_terminal():
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update


@click.command()
@click.option("--loss", "loss", default=None, metavar="GRID",
              help="Target losses: start:stop:count or a,b,c (e.g. 1.9:2.6:50).")
@click.option("--chinchilla-params", default=None, metavar="GRID",
              help="Qualities as Chinchilla-optimal model sizes (e.g. 1B,7B,13B,30B,70B or 1e9:1e11:20 --log).")
@click.option("--target-score", default=None, metavar="NAME=GRID",
              help="Qualities as downstream scores of the score map NAME in --coefficients FILE (`symscale "
              "fit-score`), e.g. core_average=0.2:0.3:11 or core_average=0.25,0.3.")
@click.option("--quality-of", default=None, metavar="MODEL,...",
              help="Qualities as the predicted losses of published models or N:D pairs, comma-separated "
              "(e.g. Llama-2-7B,Llama-2-13B,7B:2T), under the coefficients in use; rows carry the loss.")
@click.option("--inference-tokens", default=None, metavar="GRID",
              help="Lifetime inference tokens: start:stop:count or a,b,c (e.g. 1e9:1e14:100 --log).")
@click.option("--requests", default=None, metavar="GRID", help="Lifetime inference requests (instead of tokens).")
@click.option("--requests-per-day", default=None, metavar="GRID",
              help="Requests per day (with --days), instead of --requests.")
@click.option("--days", type=POSITIVE, default=None, help="Days the model is served (with --requests-per-day).")
@click.option("--tokens-per-request", type=POSITIVE, default=None,
              help="Compute objective with --requests: mean input + output tokens per request.")
@split_options
@paper_settings_option
@click.option("--log", is_flag=True, help="Geometric spacing for every start:stop:count range.")
@click.option("--log-quality", is_flag=True, help="Geometric spacing for the quality range only.")
@click.option("--log-demand", is_flag=True, help="Geometric spacing for the demand range only.")
@objective_option()
@hardware_options
@coefficient_options
@limit_options
@click.option("-o", "--output", default=None, metavar="FILE",
              help="Write the table to FILE (*.csv, *.json, or *.parquet with symscale[parquet]).")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of CSV (on stdout, or whatever -o names).")
@click.option("--digits", type=click.IntRange(3, 17), default=10, show_default=True,
              help="Significant digits written per number.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary on stderr.")
def sweep(output: str | None, as_json: bool, digits: int, quiet: bool, **kwargs) -> None:
    """Solve a grid of scenarios (quality x demand) in vectorised chunks; write one row per scenario.

    Quality: --loss, --chinchilla-params, --quality-of MODEL,... or --target-score NAME=GRID; demand:
    --inference-tokens, --requests or --requests-per-day with --days (demand is never assumed: one of them is
    required). Each is a range start:stop:count (linear; geometric with --log) or a comma-separated list, with
    k/M/B/T suffixes.
    Columns: loss, [chinchilla_params], inference_tokens, [requests], baseline_* and optimal_* (params,
    tokens, tokens_per_param, train/inference/total FLOPs, and costs for --objective cost), ratio_*.
    With --unique-tokens/--max-epochs/--max-params or a law in U (muennighoff-2023) each scenario is solved by
    the data-limited solver (0.15-0.6 ms a scenario, 50 ms a loss; grids estimated over 10 CPU-minutes are refused),
    and the columns add epochs, effective tokens and params, the regime, each limit's state and multiplier,
    and the optimum without the limits.

    Example: symscale sweep --loss 1.9:2.6:1000 --inference-tokens 1e9:1e14:1000 --log-demand -o grid.csv
    """
    from symscale.base.files import atomic_write, check_output_path, is_special
    from symscale.scenarios.sweep import table_format, write_sweep

    started = time.perf_counter()
    to_file = output not in (None, "-")
    fmt = table_format(output, as_json)
    if to_file:
        check_output_path(output, "--output")
    grid, meta = sweep_from_options(kwargs, output if to_file else None, fmt, digits)
    for warning in meta.pop("warnings", []):
        click.echo(f"Warning: {warning}", err=True)
    with contextlib.ExitStack() as stack:
        opened = atomic_write(output, "wb") if fmt == "parquet" else atomic_write(output, newline="")
        handle = stack.enter_context(opened) if to_file else sys.stdout
        progress = stack.enter_context(progress_reporter(grid.rows, "writing", quiet))
        write_sweep(grid, handle, fmt, meta=meta, digits=digits, progress=progress,
                    restartable=to_file and not is_special(output))
    if not quiet and to_file:
        click.echo(f"{grid.rows} scenarios solved and written to {output} in {time.perf_counter() - started:.2f} s "
                   f"({fmt}, {_chunks(grid.rows)})", err=True)


def _chunks(rows: int) -> str:
    from symscale.scenarios.sweep import STREAM_ROWS

    count = -(-rows // STREAM_ROWS)
    return f"{count} chunk" + "s" * (count != 1) + f" of up to {STREAM_ROWS} rows"


def sweep_from_options(kwargs: dict, output: str | None = None, fmt: str = "csv",
                       digits: int = 10):
    """Turn the parsed options into (grid, meta): the grid to solve (a SweepGrid) and a description of it.

    The grid's size is checked (memory for the chunks in flight, and the disk space of ``output``) before
    anything is allocated.
    """
    from symscale.cli.limit_options import limits_from_options
    from symscale.scenarios.sweep import check_sweep_size, parse_grid, sweep_grid

    objective = kwargs.pop("objective")
    limits = limits_from_options(kwargs, objective)
    coefficients = coefficients_from_options(kwargs)
    log_all = kwargs.pop("log")
    log_quality, log_demand = kwargs.pop("log_quality") or log_all, kwargs.pop("log_demand") or log_all
    q_kind, q_text = _one_of(kwargs, ("loss", "chinchilla_params", "target_score", "quality_of"), "quality")
    days = kwargs.pop("days")
    d_kind, d_text = _one_of(kwargs, ("inference_tokens", "requests", "requests_per_day"), "demand")
    if (d_kind == "requests_per_day") != (days is not None):
        raise InputError("--requests-per-day needs --days" if days is None else "--days needs --requests-per-day")
    per_request, settings = _demand_split(kwargs, objective)
    demand = parse_grid(d_text, log_demand, "--" + d_kind.replace("_", "-"))
    if d_kind == "requests_per_day":
        d_kind, demand = "requests", demand * days
        if not np.all(np.isfinite(demand)):
            raise InputError(f"--requests-per-day {d_text} x --days {days:g} overflows floating-point range")
    models = None
    if q_kind == "quality_of":
        models, quality = _reference_losses(q_text, coefficients)
        q_kind, losses, score = "loss", None, None
    else:
        quality, losses, score = _quality_axis(q_kind, q_text, log_quality, coefficients)
    limited = _limited(coefficients, limits)
    reference_columns = 0 if models is None else 2 * (3 + (objective == "cost"))
    check_sweep_size(quality.size, demand.size, output=output, fmt=fmt, digits=digits, streamed=True,
                     columns=_column_count(q_kind, d_kind, objective) + 14 * limited + reference_columns)
    reference = None if models is None else tuple(np.array([m[key] for m in models]) for key in ("params", "tokens"))
    grid = sweep_grid(quality, demand, quality_kind=q_kind, demand_kind=d_kind, objective=objective,
                      coefficients=coefficients, settings=settings, tokens_per_request=per_request,
                      limits=limits, losses=losses, reference=reference)
    if grid.limited:
        check_limited_time(grid)
    meta = {"objective": objective, "coefficients": coefficient_block(coefficients),
            "quality": {"kind": q_kind, "count": int(quality.size),
                        **({"quality_of": models} if models is not None else {})},
            "demand": {"kind": d_kind, "count": int(demand.size)}}
    if score is not None:
        meta["quality"].update(name=score[0])
        meta["warnings"] = score[1]
    if limited:
        meta["limits"] = {"unique_tokens": limits.unique_tokens, "max_epochs": limits.max_epochs,
                          "max_params": limits.max_params}
    if objective == "cost":
        meta["settings"] = _settings_dict(settings)
    return grid, meta


MAX_LIMITED_SECONDS = 600.0
"""A sweep solved by the data-limited solver (under 1 ms a row) is refused above this estimated CPU time."""


def _limited(coefficients, limits) -> bool:
    """Whether the rows need the data-limited solver (and that --unique-tokens has a use with this law)."""
    law = coefficients.law
    if limits.unique_tokens is not None and limits.max_epochs is None and not law.uses_unique_tokens:
        raise InputError(f"--unique-tokens {limits.unique_tokens:g} needs --max-epochs K with the law {law.name} "
                         "(it has no repetition term; the law muennighoff-2023 has one)")
    return bool(coefficients.law.uses_unique_tokens or any(
        v is not None for v in (limits.unique_tokens, limits.max_epochs, limits.max_params)))


def check_limited_time(grid) -> None:
    """Refuse a data-limited sweep whose estimated CPU time (a few rows timed) is above MAX_LIMITED_SECONDS."""
    from symscale.scenarios.sweep_limited import estimate_seconds

    seconds = estimate_seconds(grid)
    if seconds > MAX_LIMITED_SECONDS:
        per_row = seconds / grid.rows
        raise InputError(f"a sweep of {grid.rows} scenarios with the data-limited solver (--unique-tokens, "
                         f"--max-epochs, --max-params or a law in U) would take about {seconds / 60:.0f} CPU-minutes "
                         f"({per_row * 1e3:.2f} ms a scenario); at most about "
                         f"{int(MAX_LIMITED_SECONDS / per_row)} scenarios fit in {MAX_LIMITED_SECONDS / 60:.0f} "
                         "CPU-minutes: narrow the grid or split it")


def _quality_axis(kind: str, text: str, log: bool, coefficients):
    """(values, target losses or None, (score name, warnings) or None) of the quality axis."""
    from symscale.scenarios.sweep import parse_grid, score_losses

    if kind != "target_score":
        return parse_grid(text, log, "--" + kind.replace("_", "-")), None, None
    name, sep, values = str(text).partition("=")
    if not sep or not name.strip():
        raise InputError(f"--target-score {text!r}: write NAME=GRID, e.g. core_average=0.2:0.3:11 or "
                         "core_average=0.25,0.3")
    scores = parse_grid(values, log, "--target-score")
    losses, warnings = score_losses(scores, name.strip(), coefficients)
    return scores, losses, (name.strip(), warnings)


def _reference_losses(text: str, coefficients) -> tuple[list[dict], np.ndarray]:
    """The models of --quality-of (names or N:D, comma-separated) and their predicted losses."""
    from symscale.scenarios.reference import reference_model
    from symscale.solvers.solve import loss_of

    specs = [part.strip() for part in str(text).split(",") if part.strip()]
    if not specs:
        raise InputError("--quality-of is empty; give model names or N:D pairs, comma-separated")
    if len(specs) > 10_000:
        raise InputError(f"--quality-of: {len(specs)} models is too many (at most 10000)")
    models = [reference_model(spec) for spec in specs]
    losses = np.array([float(loss_of(m.params, m.tokens, coefficients)) for m in models])
    return [{"name": m.name, "params": float(m.params), "tokens": float(m.tokens), "loss": float(loss)}
            for m, loss in zip(models, losses)], losses


def _column_count(q_kind: str, d_kind: str, objective: str) -> int:
    """Columns of the sweep table (as sweep_table builds them)."""
    from symscale.scenarios.sweep import COST_KEYS, MODEL_KEYS, RATIO_KEYS

    keys = MODEL_KEYS + (COST_KEYS if objective == "cost" else ())
    ratios = len(RATIO_KEYS) + (objective == "cost")
    demand = 2 if (objective == "cost" or d_kind == "requests") else 1
    return 1 + (q_kind != "loss") + demand + 2 * len(keys) + ratios


def _demand_split(kwargs: dict, objective: str):
    """(tokens per request for the compute objective, CostSettings for the cost objective) from the options."""
    from symscale.scenarios.sweep import PAPER_COST_SETTINGS, cost_settings

    if objective == "compute":
        refuse_cost_options(kwargs)
        return kwargs.pop("tokens_per_request"), None
    per_request, inp, out = (kwargs.pop(k) for k in ("tokens_per_request", "input_tokens", "output_tokens"))
    hardware, paper = pop_hardware(kwargs), kwargs.pop("paper_settings")
    if per_request is not None:
        raise InputError("the cost objective prices input and output tokens separately: use --input-tokens and "
                         "--output-tokens instead of --tokens-per-request")
    base = dict(PAPER_COST_SETTINGS) if paper else {}
    split = {k: v for k, v in (("input_tokens", inp), ("output_tokens", out)) if v is not None}
    return None, cost_settings(**{**base, **hardware, **split})


def _settings_dict(settings) -> dict:
    """Resolved cost settings as plain JSON (scalar numbers and names; demand arrays left out)."""
    from symscale.cli.cost_options import plain_settings

    plain = plain_settings(settings.__class__(**{**_scalar_fields(settings), "requests": 0.0}))
    for key in ("requests", "inference_tokens"):
        plain.pop(key, None)
    return plain


def _scalar_fields(settings) -> dict:
    from dataclasses import fields

    return {f.name: getattr(settings, f.name) for f in fields(settings) if f.init}


COMMANDS = [sweep]
