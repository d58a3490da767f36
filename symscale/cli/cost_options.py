"""Options of the cost objective: hardware (catalog GPU, data type, price, or a peak of one's own), MFU, demand."""

from __future__ import annotations

from collections.abc import Callable

import click

from symscale.cli.common import POSITIVE, Number
from symscale.cli.options import Demand, _stack, demand_options, demand_spec_from_options
from symscale.solvers.costs import DEFAULTS, DTYPES, INFERENCE_DTYPE_ORDER, CostSettings

ROLE_LABEL = {"train": "Training", "inference": "Inference"}
MFU = Number(0.0, strict_minimum=True, maximum=1.0)
HARDWARE_KEYS = ("train_gpu", "train_dtype", "train_gpu_cost", "train_peak_flops", "inference_gpu",
                 "inference_dtype", "inference_gpu_cost", "inference_peak_flops", "train_mfu", "prefill_mfu",
                 "decode_mfu")


COST = "Cost objective: "


def _gpu_help(role: str) -> str:
    return (f"{COST}{ROLE_LABEL[role].lower()} accelerator: a name from the GPU catalog, any case "
            f"(`symscale hardware` lists it) [default: {DEFAULTS[role + '_gpu']}].")


def _price_help(role: str) -> str:
    return (f"{COST}{ROLE_LABEL[role].lower()} price in dollars per GPU-hour [default: the catalog price "
            "(`symscale hardware`); GPUs without one need this option].")


def _peak_help(role: str) -> str:
    return (f"{COST}bypass the catalog with the peak FLOP/s of the {role} GPU; needs --{role}-gpu-cost, or "
            f"--{role}-gpu naming a priced GPU whose price is then used (the default GPU is not assumed).")


def _mfu_help(what: str, key: str) -> str:
    return f"{COST}{what}, in (0, 1] [default: {DEFAULTS[key]:g}]."


def hardware_options(func: Callable) -> Callable:
    """Hardware and utilisation options of the cost objective (each role: GPU, dtype, price, or own peak)."""
    return _stack(func, [
        click.option("--train-gpu", default=None, metavar="GPU", help=_gpu_help("train")),
        click.option("--train-dtype", default=None, metavar="DTYPE",
                     help=f"{COST}training data type: {', '.join(DTYPES)} [default: {DEFAULTS['train_dtype']}]."),
        click.option("--train-gpu-cost", type=POSITIVE, default=None, metavar="DOLLARS", help=_price_help("train")),
        click.option("--train-peak-flops", type=POSITIVE, default=None, metavar="FLOPS", help=_peak_help("train")),
        click.option("--inference-gpu", default=None, metavar="GPU", help=_gpu_help("inference")),
        click.option("--inference-dtype", default=None, metavar="DTYPE",
                     help=f"{COST}inference data type: {', '.join(DTYPES)} [default: the GPU's fastest of "
                     f"{', '.join(INFERENCE_DTYPE_ORDER)} (H100: fp8, A100: int8)]."),
        click.option("--inference-gpu-cost", type=POSITIVE, default=None, metavar="DOLLARS",
                     help=_price_help("inference")),
        click.option("--inference-peak-flops", type=POSITIVE, default=None, metavar="FLOPS",
                     help=_peak_help("inference")),
        click.option("--train-mfu", type=MFU, default=None, help=_mfu_help("training model-FLOPs utilisation",
                                                                           "train_mfu")),
        click.option("--prefill-mfu", type=MFU, default=None,
                     help=_mfu_help("utilisation on input (prompt) tokens", "prefill_mfu")),
        click.option("--decode-mfu", type=MFU, default=None,
                     help=_mfu_help("utilisation on output (generated) tokens", "decode_mfu")),
    ])


PAPER_SETTINGS_HELP = ("Cost objective: the hardware of the paper's Figure 6 and Table 3 (train A100-80GB bf16 at "
                       "$1.50/h, inference A100-40GB int8 at $1.10/h, MFU 0.5/0.5/0.01) instead of the default H100s; "
                       "explicit hardware options still override.")
paper_settings_option = click.option("--paper-settings", is_flag=True, help=PAPER_SETTINGS_HELP)


train_gpus_option = click.option("--train-gpus", type=click.IntRange(min=1, max=10**9), default=None, metavar="N",
                                 help="Cost objective: GPUs training in parallel; adds the training wall-clock "
                                 "train_days (GPU-hours / N / 24) to every model.")


def cost_options(func: Callable) -> Callable:
    """All options of the cost objective: hardware, utilisation and demand (requests x input/output tokens)."""
    return paper_settings_option(hardware_options(demand_options(func)))


def paper_or_given(kwargs: dict, hardware: dict) -> dict:
    """The given hardware options, on top of the paper's Figure 6 settings when --paper-settings was given."""
    from symscale.scenarios.sweep import PAPER_COST_SETTINGS

    if not kwargs.pop("paper_settings", False):
        return hardware
    paper = {k: v for k, v in PAPER_COST_SETTINGS.items() if k not in ("input_tokens", "output_tokens")}
    return {**paper, **hardware}


def pop_hardware(kwargs: dict) -> dict:
    """Pop the hardware and MFU options; return those that were given."""
    given = {key: kwargs.pop(key) for key in HARDWARE_KEYS}
    return {key: value for key, value in given.items() if value is not None}


def cost_settings_from_options(kwargs: dict, demand: Demand | None = None, *,
                               force: bool = False) -> CostSettings | None:
    """Pop the cost options and build CostSettings; None when no hardware, MFU or input/output option was given.

    ``demand`` is the already-popped demand (otherwise popped here); ``force`` builds the settings
    from the defaults even when nothing was given (the cost objective of `solve`).
    """
    paper = bool(kwargs.get("paper_settings"))
    hardware = paper_or_given(kwargs, pop_hardware(kwargs))
    demand = demand if demand is not None else demand_spec_from_options(kwargs)
    if not (force or hardware or paper or demand.split_given):
        return None
    requests, input_tokens, output_tokens = demand.cost_demand()
    return CostSettings(**hardware, requests=requests, input_tokens=input_tokens, output_tokens=output_tokens)


def plain_settings(settings: CostSettings) -> dict:
    """Resolved settings as a JSON-ready dict (scalar settings: floats; strings and None unchanged)."""
    return _plain(settings.as_dict())


def _plain(value):
    if isinstance(value, dict):
        return {key: _plain(v) for key, v in value.items()}
    return value if value is None or isinstance(value, str) else float(value)


def describe_settings(settings: dict) -> list[str]:
    """Text lines describing resolved settings (the ``settings`` block of a report)."""
    train, inf = settings["train"], settings["inference"]
    return [
        f"Demand: {settings['requests']:.4g} requests x ({settings['input_tokens']:g} input + "
        f"{settings['output_tokens']:g} output tokens) = {settings['inference_tokens']:.4g} tokens",
        f"Training:  {_hardware(train)}, MFU {settings['train_mfu']:g}",
        f"Inference: {_hardware(inf)}, MFU prefill {settings['prefill_mfu']:g}, decode {settings['decode_mfu']:g}",
    ]


def _hardware(phase: dict) -> str:
    name = " ".join(part for part in (phase["gpu"], phase["dtype"]) if part) or "custom GPU"
    return f"{name} at {phase['peak_flops']:.4g} FLOP/s peak, ${phase['price_per_hour']:.2f}/GPU-hour"


OBJECTIVE_HELP = ("compute: fewest lifetime FLOPs (paper Eq. 3); cost: fewest lifetime dollars (Eq. 6), priced with "
                  "the hardware, price, MFU and input/output-token options, which need it.")


def objective_option(help_text: str = OBJECTIVE_HELP) -> Callable:
    """--objective compute|cost [default: compute]: the one way to ask for dollars."""
    return click.option("--objective", type=click.Choice(["compute", "cost"]), default="compute",
                        show_default=True, help=help_text)


COST_ONLY_KEYS = HARDWARE_KEYS + ("paper_settings", "input_tokens", "output_tokens")


def refuse_cost_options(kwargs: dict, demand: Demand | None = None) -> None:
    """Under the compute objective: pop the cost-only options and refuse any that was given, naming it."""
    from symscale.base.errors import InputError

    given = [key for key in HARDWARE_KEYS if kwargs.pop(key, None) is not None]
    if kwargs.pop("paper_settings", False):
        given.append("paper_settings")
    for key in ("input_tokens", "output_tokens"):
        value = kwargs.pop(key, None) if demand is None else getattr(demand, key)
        if value is not None:
            given.append(key)
    if given:
        names = ", ".join("--" + key.replace("_", "-") for key in given)
        what = "is an option" if len(given) == 1 else "are options"
        raise InputError(f"{names} {what} of the cost objective (hardware, price, MFU, input/output tokens): "
                         "add --objective cost")
