"""`symscale calc`: the model calculator (loss, size, data and compute of one model)."""

from __future__ import annotations

import click

from symscale.base import numbers as N
from symscale.cli.common import (
    NON_NEGATIVE,
    POSITIVE,
    coefficient_options,
    coefficients_from_options,
    deprecated_alias,
    emit_json,
)
from symscale.cli.cost_options import (
    cost_options,
    cost_settings_from_options,
    describe_settings,
    objective_option,
    plain_settings,
    refuse_cost_options,
)
from symscale.cli.limit_options import floor_option, unique_tokens_option
from symscale.cli.options import demand_spec_from_options

COST_KEYS = ("train_cost", "prefill_cost", "decode_cost", "inference_cost", "total_cost", "train_gpu_hours",
             "inference_gpu_hours")
COST_LABELS = ("Training cost", "Prefill cost", "Decode cost", "Inference cost", "Total cost", "Training GPU-hours",
               "Inference GPU-hours")


def calc_report(coefficients, *, chinchilla: bool, params=None, tokens=None, compute=None, loss=None,
                demand: float = 0.0, settings=None) -> dict:
    """Complete one model from the given quantities; the JSON report of `calc` (with dollars when ``settings``)."""
    from symscale.base.errors import InputError
    from symscale.cli.cmd_solve import coefficient_block
    from symscale.solvers.solve import ComputeModel, loss_of, model_from
    from symscale.solvers.solve import chinchilla as chinchilla_model

    if chinchilla:
        model = chinchilla_model(params=params, tokens=tokens, compute=compute, loss=loss, coefficients=coefficients)
    else:
        if loss is not None:
            raise InputError("--loss needs --chinchilla (a loss alone does not fix a model; see `symscale solve`)")
        model = model_from(params=params, tokens=tokens, compute=compute)
    if settings is not None:
        demand = float(settings.inference_tokens)
    flops = ComputeModel(model.params, model.tokens, demand)
    report = {
        "coefficients": coefficient_block(coefficients),
        "chinchilla": chinchilla,
        "params": float(model.params),
        "tokens": float(model.tokens),
        "tokens_per_param": float(flops.tokens_per_param),
        "loss": float(loss_of(model.params, model.tokens, coefficients)),
        "inference_tokens": demand,
        "train_flops": float(flops.train_flops),
        "inference_flops": float(flops.inference_flops),
        "total_flops": float(flops.total_flops),
    }
    return report if settings is None else {**report, **cost_block(model, settings)}


def cost_block(model, settings) -> dict:
    """The dollar keys of a calc report: resolved settings and train/prefill/decode/inference/total cost."""
    from symscale.solvers.costs import model_costs

    costs = model_costs(model, settings)
    return {"settings": plain_settings(settings), **{key: float(getattr(costs, key)) for key in COST_KEYS}}


def render_calc(report: dict) -> str:
    """Plain-text rendering of a calc report."""
    lines = [
        f"Model size (params):     {N.count(report['params'])}",
        f"Training data (tokens):  {N.count(report['tokens'])}",
        f"Tokens per parameter:    {N.plain(report['tokens_per_param'])}",
        f"Final training loss:     {report['loss']:.6f}",
        f"Training FLOPs:          {N.flops(report['train_flops'])}",
    ]
    if not report["inference_tokens"]:
        lines.append("Inference tokens:        0 (no demand given)")
    else:
        lines += [
            f"Inference tokens:        {N.count(report['inference_tokens'])}",
            f"Inference FLOPs:         {N.flops(report['inference_flops'])}",
            f"Total FLOPs:             {N.flops(report['total_flops'])}",
        ]
    if "total_cost" in report:
        lines += [f"{label + ':':<24} {N.readable(key, report[key])}" for key, label in zip(COST_KEYS, COST_LABELS)]
        lines += describe_settings(report["settings"])
    c = dict(report["coefficients"])
    name, law = c.pop("name"), c.pop("law", None)
    values = ", ".join(f"{key} = {value:g}" for key, value in c.items())
    where = f"law {law['name']}: {law['expression']}; " if law and law["name"] != "chinchilla" else ""
    lines.append(f"Chinchilla-optimal:      {'yes' if report['chinchilla'] else 'not required'}")
    lines.append(f"Coefficients:            {name} ({where}{values})")
    return "\n".join(lines)


@click.command()
@click.option("--params", type=POSITIVE, default=None, help="Model size in parameters (e.g. 70B).")
@click.option("--tokens", type=POSITIVE, default=None, help="Training tokens (e.g. 1T).")
@click.option("--compute", type=POSITIVE, default=None, help="Training compute in FLOPs (6 * params * tokens).")
@click.option("--loss", type=NON_NEGATIVE, default=None, help="Target loss (only with --chinchilla).")
@click.option("--chinchilla", is_flag=True,
              help="Make the model Chinchilla-optimal; then one of --params/--tokens/--compute/--loss suffices.")
@objective_option("compute: FLOPs only; cost: also dollars and GPU-hours for training, prefill and decode, priced "
                  "with the hardware, price, MFU and input/output-token options (which need it).")
@deprecated_alias("--cost", "--objective cost", "objective", value="cost", is_flag=True)
@cost_options
@coefficient_options
@unique_tokens_option
@floor_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def calc(params, tokens, compute, loss, chinchilla: bool, objective: str, as_json: bool, unique_tokens, floor,
         **kwargs) -> None:
    """The model calculator: any two of --params, --tokens, --compute give the third and the loss.

    With --chinchilla, one of --params, --tokens, --compute, --loss gives the Chinchilla-optimal
    model. Inference demand options add lifetime FLOPs (demand is 0 unless given). With
    --objective cost it also prices training, prefill and decode (defaults: H100 bf16 training,
    H100 fp8 inference, MFU 0.5 / 0.5 / 0.01, 70 input + 215 output tokens per request).

    Examples: symscale calc --params 70e9 --tokens 1e12;  symscale calc --chinchilla --compute 1e24;
    symscale calc --params 70e9 --tokens 10e12 --objective cost
    """
    from symscale.cli.limit_options import data_calc, render_data_calc

    coefficients = coefficients_from_options(kwargs)
    demand = demand_spec_from_options(kwargs)
    if objective == "cost":
        settings = cost_settings_from_options(kwargs, demand, force=True)
    else:
        refuse_cost_options(kwargs, demand)
        settings = None

    def model_report() -> dict:
        return calc_report(coefficients, chinchilla=chinchilla, params=params, tokens=tokens, compute=compute,
                           loss=loss, demand=demand.lifetime_tokens() if settings is None else 0.0, settings=settings)

    report = data_calc(coefficients, unique_tokens, floor, model_report) or model_report()
    if as_json:
        emit_json(report)
    elif "floor" in report:
        click.echo(render_data_calc(report))
    else:
        click.echo(render_calc(report))
        extra = render_data_calc(report)
        if extra:
            click.echo(extra)


COMMANDS = [calc]
