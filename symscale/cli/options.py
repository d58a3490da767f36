"""Options shared by solve, calc and later commands: quality (target loss) and inference demand."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import click

from symscale.base.errors import InputError
from symscale.cli.common import NON_NEGATIVE, POSITIVE
from symscale.laws.coefficients import Coefficients
from symscale.solvers.costs import DEFAULTS


def _stack(func: Callable, options: list) -> Callable:
    for option in reversed(options):
        func = option(func)
    return func


def quality_options(func: Callable) -> Callable:
    """Exactly one of --loss / --chinchilla-params / --chinchilla-tokens / --chinchilla-compute / --quality-of /
    --target-score."""
    return _stack(func, [click.option("--loss", type=POSITIVE, default=None,
                                      help="Target pre-training loss (must exceed E).")] + _OTHER_QUALITIES)


def grid_quality_options(func: Callable) -> Callable:
    """quality_options with --loss a GRID of losses (start:stop:count or a,b,c; --log for geometric spacing)."""
    return _stack(func, [
        click.option("--loss", default=None, metavar="GRID",
                     help="Target losses (each must exceed E): one value, start:stop:count or a,b,c "
                     "(e.g. 1.9:2.2:4; geometric with --log)."),
        click.option("--log", "log_grid", is_flag=True, help="Geometric spacing for a start:stop:count --loss."),
    ] + _OTHER_QUALITIES)


_OTHER_QUALITIES = [
    click.option("--chinchilla-params", type=POSITIVE, default=None, metavar="N",
                 help="Quality of the Chinchilla-optimal model with N parameters (e.g. 70B)."),
    click.option("--chinchilla-tokens", type=POSITIVE, default=None, metavar="D",
                 help="Quality of the Chinchilla-optimal model trained on D tokens (e.g. 1.4T)."),
    click.option("--chinchilla-compute", type=POSITIVE, default=None, metavar="FLOPS",
                 help="Quality of the Chinchilla-optimal model for a training budget of FLOPS (e.g. 1e24)."),
    click.option("--quality-of", default=None, metavar="MODEL|N:D",
                 help="Quality of a published model (data/reference_models.csv, any case: Llama-2-7B, "
                 "Chinchilla-70B, ...) or of N params trained on D tokens (7B:2T), under the coefficients in use "
                 "(solve and plot scenario also show that model beside the optimum)."),
    click.option("--target-score", default=None, metavar="NAME=VALUE",
                 help="A downstream score, e.g. core_average=0.30, turned into the loss predicted by the score "
                 "map NAME of --coefficients FILE (`symscale fit-score`)."),
]


QUALITY_KEYS = ("loss", "chinchilla_params", "chinchilla_tokens", "chinchilla_compute", "quality_of", "target_score")


def loss_from_options(kwargs: dict, coefficients: Coefficients) -> float:
    """Pop the quality options and turn them into one target loss (a --target-score's warnings go to stderr)."""
    loss, extra = quality_from_options(kwargs, coefficients)
    for warning in getattr(extra, "warnings", None) or []:
        click.echo(f"Warning: {warning}", err=True)
    return loss


def quality_from_options(kwargs: dict, coefficients: Coefficients):
    """Pop the quality options: (target loss, the reference model of --quality-of or None)."""
    from symscale.solvers.solve import chinchilla, loss_of, resolvable_loss

    given = {key: kwargs.pop(key, None) for key in QUALITY_KEYS}
    given = {key: value for key, value in given.items() if value is not None}
    if len(given) != 1:
        names = ", ".join("--" + key.replace("_", "-") for key in given) or "none"
        raise InputError("give exactly one of --loss, --chinchilla-params, --chinchilla-tokens, "
                         f"--chinchilla-compute, --quality-of, --target-score (got {names})")
    (key, value), = given.items()
    if key == "loss":
        return value, None
    if key == "target_score":  # (loss, ScoreTarget): the score, the loss it implies, warnings
        from symscale.laws.scores import target_from

        target = target_from(value, coefficients)
        return target.loss, target
    if key == "quality_of":
        from symscale.scenarios.reference import reference_model

        model = reference_model(value)
        return float(loss_of(model.params, model.tokens, coefficients)), model
    model = chinchilla(**{key.removeprefix("chinchilla_"): value}, coefficients=coefficients)
    what = f"the Chinchilla-optimal model of --{key.replace('_', '-')} {value:g}"
    return resolvable_loss(model, coefficients, what), None


DEFAULT_INPUT, DEFAULT_OUTPUT = (DEFAULTS[k] for k in ("input_tokens", "output_tokens"))
"""Mean tokens per request when only --requests is given; the demand itself is 0 unless given (no hidden demand)."""


def _or_default(value: float | None, default: float) -> float:
    return default if value is None else value


SPLIT_OPTIONS = [
    click.option("--input-tokens", type=POSITIVE, default=None,
                 help=f"Cost objective: mean input (prompt) tokens per request [default: {DEFAULT_INPUT:g}]."),
    click.option("--output-tokens", type=POSITIVE, default=None,
                 help=f"Cost objective: mean output (generated) tokens per request [default: {DEFAULT_OUTPUT:g}]."),
]
"""--input-tokens and --output-tokens: the cost objective's mean tokens per request."""


def split_options(func: Callable) -> Callable:
    """Only --input-tokens and --output-tokens (for commands that solve for the number of requests)."""
    return _stack(func, SPLIT_OPTIONS)


COMPUTE_DEMAND_OPTIONS = [
    click.option("--inference-tokens", type=NON_NEGATIVE, default=None, metavar="TOKENS",
                 help="Compute objective: lifetime inference demand in tokens (input + output), e.g. 2e12 or "
                 "2T [default: 0, no demand]."),
    click.option("--requests", type=NON_NEGATIVE, default=None,
                 help="Lifetime number of inference requests [default: 0, no demand]; with the compute "
                 "objective give --tokens-per-request with it, with the cost objective --input-tokens and "
                 "--output-tokens (or their defaults)."),
    click.option("--requests-per-day", type=NON_NEGATIVE, default=None,
                 help="Requests per day (with --days), instead of --requests."),
    click.option("--days", type=POSITIVE, default=None, help="Days the model is served (with --requests-per-day)."),
    click.option("--tokens-per-request", type=POSITIVE, default=None,
                 help="Compute objective: mean tokens (input + output) per request."),
]


def compute_demand_options(func: Callable) -> Callable:
    """The demand options of commands without a cost objective: tokens, or requests x tokens per request."""
    return _stack(func, COMPUTE_DEMAND_OPTIONS)


def demand_options(func: Callable) -> Callable:
    """Lifetime inference demand: --inference-tokens, or requests (lifetime or per day x days) x tokens per request."""
    return _stack(func, COMPUTE_DEMAND_OPTIONS + SPLIT_OPTIONS)


DEMAND_KEYS = ("inference_tokens", "requests", "requests_per_day", "days", "tokens_per_request",
               "input_tokens", "output_tokens")


def _product(what: str, per_request: float, requests: float) -> float:
    """Lifetime tokens = requests x tokens per request, refused when the product overflows float64."""
    total = per_request * requests
    if total == float("inf"):
        raise InputError(f"lifetime inference tokens overflow: {requests:g} requests x {what} {per_request:g} "
                         "is beyond floating-point range (float64 holds up to 1.8e+308)")
    return total


@dataclass(frozen=True)
class Demand:
    """The demand options as given (None: not given), with lifetime requests resolved from per day x days."""

    inference_tokens: float | None = None
    requests: float | None = None
    tokens_per_request: float | None = None
    input_tokens: float | None = None
    output_tokens: float | None = None

    @property
    def split_given(self) -> bool:
        """Whether input or output tokens per request were given."""
        return self.input_tokens is not None or self.output_tokens is not None

    def lifetime_tokens(self, default: float | None = 0.0) -> float | None:
        """Lifetime inference tokens for the compute objective (``default`` when no demand was given)."""
        if self.requests is None:
            if self.tokens_per_request is not None or self.split_given:
                raise InputError("tokens per request need --requests or --requests-per-day with --days")
            return self.inference_tokens if self.inference_tokens is not None else default
        if self.tokens_per_request is not None and self.split_given:
            raise InputError("give --tokens-per-request or --input-tokens/--output-tokens, not both")
        if self.tokens_per_request is not None:
            return _product("--tokens-per-request", self.tokens_per_request, self.requests)
        if self.split_given:
            return _product("input + output tokens per request", sum(self.cost_demand()[1:]), self.requests)
        raise InputError("requests need tokens per request: --tokens-per-request, or --input-tokens and "
                         "--output-tokens")

    def cost_demand(self) -> tuple[float, float, float]:
        """(requests, input tokens, output tokens) for the cost objective, with the default for each one missing."""
        if self.inference_tokens is not None or self.tokens_per_request is not None:
            raise InputError("the cost objective prices input and output tokens separately: give --requests with "
                             "--input-tokens and --output-tokens instead of --inference-tokens/--tokens-per-request")
        return (_or_default(self.requests, 0.0), _or_default(self.input_tokens, DEFAULT_INPUT),
                _or_default(self.output_tokens, DEFAULT_OUTPUT))


def demand_spec_from_options(kwargs: dict) -> Demand:
    """Pop the demand options and check that demand was given one way."""
    tokens, requests, per_day, days, per_request, inp, out = (kwargs.pop(k, None) for k in DEMAND_KEYS)
    if sum(v is not None for v in (tokens, requests, per_day)) > 1:
        raise InputError("give demand one way: --inference-tokens, or --requests, or --requests-per-day with --days")
    if (per_day is None) != (days is None):
        raise InputError("--requests-per-day needs --days" if days is None else "--days needs --requests-per-day")
    if per_day is not None:
        requests = per_day * days
        if requests == float("inf"):
            raise InputError(f"lifetime requests overflow: --requests-per-day {per_day:g} x --days {days:g} is beyond "
                             "floating-point range (float64 holds up to 1.8e+308)")
    if tokens is not None and (inp is not None or out is not None):
        raise InputError("give --inference-tokens or --input-tokens/--output-tokens, not both")
    return Demand(tokens, requests, per_request, inp, out)


def demand_from_options(kwargs: dict, default: float | None = 0.0) -> float | None:
    """Pop the demand options and return lifetime inference tokens (``default`` when none given)."""
    return demand_spec_from_options(kwargs).lifetime_tokens(default)
