"""`symscale unique-tokens`: the least unique training data with which a law in U can reach a loss."""

from __future__ import annotations

import click

from .common import POSITIVE, coefficient_options, coefficients_from_options, emit_json, fmt


@click.command("unique-tokens")
@click.option("--loss", type=POSITIVE, required=True, help="Target loss.")
@coefficient_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def unique_tokens(loss: float, as_json: bool, **kwargs) -> None:
    """The least unique data U whose loss floor is the target: any model reaching --loss needs more.

    The floor of finite data is the law's limit for large N and D at fixed U (repeated tokens and
    excess parameters saturate). Needs a law in U, e.g. --law muennighoff-2023.

    Example: symscale unique-tokens --law muennighoff-2023 --loss 2.1
    """
    from ..errors import InputError
    from ..laws.data_limited import data_floor, has_unique_tokens, unique_tokens_for_loss

    coefficients = coefficients_from_options(kwargs)
    law = coefficients.law
    if not has_unique_tokens(law):
        raise InputError(f"--law {law.name} has no unique-token input U; use a law with a repetition term, "
                         "e.g. --law muennighoff-2023")
    values = dict(coefficients.values)
    need = unique_tokens_for_loss(law, values, loss)
    report = {"law": law.name, "loss": loss, "unique_tokens": need, "floor_at": data_floor(law, values, need)}
    if as_json:
        emit_json(report)
        return
    click.echo(f"Least unique data for loss {loss:g} under the law {law.name}: {fmt(need)} tokens "
               f"(its floor is {report['floor_at']:.6g}; a finite model reaching {loss:g} needs more)")


COMMANDS = [unique_tokens]
