"""Options shared by solve, calc and later commands: quality (target loss) and inference demand."""

from __future__ import annotations

from typing import Callable

import click

from ..coefficients import Coefficients
from ..errors import InputError
from .common import NON_NEGATIVE, POSITIVE


def _stack(func: Callable, options: list) -> Callable:
    for option in reversed(options):
        func = option(func)
    return func


def quality_options(func: Callable) -> Callable:
    """Exactly one of --loss / --chinchilla-params / --chinchilla-tokens / --chinchilla-compute."""
    return _stack(func, [
        click.option("--loss", type=POSITIVE, default=None, help="Target pre-training loss (must exceed E)."),
        click.option("--chinchilla-params", type=POSITIVE, default=None, metavar="N",
                     help="Quality of the Chinchilla-optimal model with N parameters (e.g. 70B)."),
        click.option("--chinchilla-tokens", type=POSITIVE, default=None, metavar="D",
                     help="Quality of the Chinchilla-optimal model trained on D tokens (e.g. 1.4T)."),
        click.option("--chinchilla-compute", type=POSITIVE, default=None, metavar="FLOPS",
                     help="Quality of the Chinchilla-optimal model for a training budget of FLOPS (e.g. 1e24)."),
    ])


def loss_from_options(kwargs: dict, coefficients: Coefficients) -> float:
    """Pop the quality options and turn them into one target loss."""
    from ..solve import chinchilla, loss_of

    given = {key: kwargs.pop(key) for key in ("loss", "chinchilla_params", "chinchilla_tokens", "chinchilla_compute")}
    given = {key: value for key, value in given.items() if value is not None}
    if len(given) != 1:
        names = ", ".join("--" + key.replace("_", "-") for key in given) or "none"
        raise InputError("give exactly one of --loss, --chinchilla-params, --chinchilla-tokens, "
                         f"--chinchilla-compute (got {names})")
    (key, value), = given.items()
    if key == "loss":
        return value
    model = chinchilla(**{key.removeprefix("chinchilla_"): value}, coefficients=coefficients)
    return float(loss_of(model.params, model.tokens, coefficients))


def demand_options(func: Callable) -> Callable:
    """Lifetime inference demand: --inference-tokens, or requests x tokens per request."""
    return _stack(func, [
        click.option("--inference-tokens", type=NON_NEGATIVE, default=None, metavar="TOKENS",
                     help="Lifetime inference demand in tokens (input + output), e.g. 2e12 or 2T."),
        click.option("--requests", type=NON_NEGATIVE, default=None,
                     help="Lifetime number of inference requests (use with --tokens-per-request)."),
        click.option("--requests-per-day", type=NON_NEGATIVE, default=None,
                     help="Requests per day (use with --days and --tokens-per-request)."),
        click.option("--days", type=POSITIVE, default=None, help="Days the model is served."),
        click.option("--tokens-per-request", type=POSITIVE, default=None,
                     help="Mean tokens (input + output) per request."),
    ])


def demand_from_options(kwargs: dict, default: float | None = 0.0) -> float | None:
    """Pop the demand options and return lifetime inference tokens (``default`` when none given)."""
    tokens = kwargs.pop("inference_tokens")
    requests, per_day, days, per_request = (kwargs.pop(k) for k in
                                            ("requests", "requests_per_day", "days", "tokens_per_request"))
    ways = [tokens is not None, requests is not None, per_day is not None]
    if sum(ways) > 1:
        raise InputError("give demand one way: --inference-tokens, or --requests, or --requests-per-day with --days")
    if per_day is not None:
        if days is None:
            raise InputError("--requests-per-day needs --days")
        requests = per_day * days
    elif days is not None:
        raise InputError("--days needs --requests-per-day")
    if requests is not None:
        if per_request is None:
            raise InputError("requests need --tokens-per-request (mean input + output tokens per request)")
        return requests * per_request
    if per_request is not None:
        raise InputError("--tokens-per-request needs --requests or --requests-per-day")
    return tokens if tokens is not None else default
