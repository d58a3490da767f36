"""`symscale calc`: the model calculator (loss, size, data and compute of one model)."""

from __future__ import annotations

import click

from .common import NON_NEGATIVE, POSITIVE, coefficient_options, coefficients_from_options, emit_json, fmt
from .options import demand_from_options, demand_options


def calc_report(coefficients, *, chinchilla: bool, params=None, tokens=None, compute=None, loss=None,
                demand: float = 0.0) -> dict:
    """Complete one model from the given quantities; the JSON report of `calc`."""
    from ..errors import InputError
    from ..solve import ComputeModel, chinchilla as chinchilla_model, loss_of, model_from

    if chinchilla:
        model = chinchilla_model(params=params, tokens=tokens, compute=compute, loss=loss, coefficients=coefficients)
    else:
        if loss is not None:
            raise InputError("--loss needs --chinchilla (a loss alone does not fix a model; see `symscale solve`)")
        model = model_from(params=params, tokens=tokens, compute=compute)
    flops = ComputeModel(model.params, model.tokens, demand)
    return {
        "coefficients": {**coefficients.as_dict(), "name": coefficients.name},
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


def render_calc(report: dict) -> str:
    """Plain-text rendering of a calc report."""
    lines = [
        f"Model size (params):     {fmt(report['params'])}",
        f"Training data (tokens):  {fmt(report['tokens'])}",
        f"Tokens per parameter:    {report['tokens_per_param']:.4g}",
        f"Final training loss:     {report['loss']:.6f}",
        f"Training FLOPs:          {fmt(report['train_flops'])}",
    ]
    if report["inference_tokens"]:
        lines += [
            f"Inference tokens:        {fmt(report['inference_tokens'])}",
            f"Inference FLOPs:         {fmt(report['inference_flops'])}",
            f"Total FLOPs:             {fmt(report['total_flops'])}",
        ]
    c = report["coefficients"]
    lines.append(f"Chinchilla-optimal:      {'yes' if report['chinchilla'] else 'not required'}")
    lines.append(f"Coefficients:            {c['name']} (alpha = {c['alpha']:g}, beta = {c['beta']:g}, "
                 f"A = {c['A']:g}, B = {c['B']:g}, E = {c['E']:g})")
    return "\n".join(lines)


@click.command()
@click.option("--params", type=POSITIVE, default=None, help="Model size in parameters (e.g. 70B).")
@click.option("--tokens", type=POSITIVE, default=None, help="Training tokens (e.g. 1T).")
@click.option("--compute", type=POSITIVE, default=None, help="Training compute in FLOPs (6 * params * tokens).")
@click.option("--loss", type=NON_NEGATIVE, default=None, help="Target loss (only with --chinchilla).")
@click.option("--chinchilla", is_flag=True,
              help="Make the model Chinchilla-optimal; then one of --params/--tokens/--compute/--loss suffices.")
@demand_options
@coefficient_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def calc(params, tokens, compute, loss, chinchilla: bool, as_json: bool, **kwargs) -> None:
    """The model calculator: any two of --params, --tokens, --compute give the third and the loss.

    With --chinchilla, one of --params, --tokens, --compute, --loss gives the Chinchilla-optimal
    model. Inference demand options add lifetime FLOPs.

    Examples: symscale calc --params 70e9 --tokens 1e12;  symscale calc --chinchilla --compute 1e24
    """
    coefficients = coefficients_from_options(kwargs)
    demand = demand_from_options(kwargs)
    report = calc_report(coefficients, chinchilla=chinchilla, params=params, tokens=tokens, compute=compute,
                         loss=loss, demand=demand)
    if as_json:
        emit_json(report)
    else:
        click.echo(render_calc(report))


COMMANDS = [calc]
