"""Readable numbers for text output, one formatter for every command (JSON keeps raw numbers).

Sizes take a suffix (24.18B parameters, 2.657T tokens), FLOPs stay scientific (1.234e+23),
dollars get a $ and a suffix ($1.43M), ratios are percentages with four significant digits, and
factors above 10 are written as 13.4×.
"""

from __future__ import annotations

import math
import re

SUFFIXES = ((1e15, "P"), (1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))

# --- the input grammar: a decimal or scientific number, or a decimal with one suffix k/M/B/T ----
_INPUT_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
_PLAIN = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", re.ASCII)
_SUFFIXED = re.compile(r"([-+]?(?:\d+\.?\d*|\.\d+))([kKmMbBtT])", re.ASCII)


def parse_number(text: str) -> float:
    """'7e9', '7000000000', '70B', '2T', '1.5M', '500k' as a finite float.

    Grammar: a decimal or scientific number, or a decimal number with one suffix k, M, B or T (any
    case) written right after it. '1e3T', '2 T', '7G' and non-ASCII digits are refused.
    """
    raw = str(text).strip()
    plain, suffixed = _PLAIN.fullmatch(raw), _SUFFIXED.fullmatch(raw)
    if plain is None and suffixed is None:
        shown = raw if len(raw) <= 40 else raw[:37] + "..."
        raise ValueError(f"{shown!r} is not a number (examples: 7e9, 7000000000, 70B, 2T, 1.5M)")
    try:
        value = float(raw) if plain else float(suffixed.group(1)) * _INPUT_SUFFIX[suffixed.group(2).lower()]
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise ValueError(f"{raw[:40]!r} is not a finite number")
    return value


def _significant(value: float, digits: int) -> str:
    """``value`` to ``digits`` significant digits, without an exponent (trailing zeros kept)."""
    if value == 0:
        return "0"
    decimals = max(digits - 1 - int(math.floor(math.log10(abs(value)))), 0)
    rounded = round(value, decimals)
    if rounded and abs(rounded) >= 10 ** (digits - decimals) and decimals > 0:  # 9.9996 -> 10.00, not 10.000
        decimals -= 1
    return f"{value:.{decimals}f}"


def count(value: float, digits: int = 4) -> str:
    """24.18B, 2.657T, 150.0M, 999 (parameters, tokens, requests)."""
    value = float(value)
    if not math.isfinite(value):
        return "-"
    shown = abs(float(f"{value:.{digits - 1}e}"))  # what the digits round to: 999.99996B shows as 1.000T
    if shown >= 1e18:
        return f"{value:.{digits - 1}e}"
    for scale, suffix in SUFFIXES:
        if shown >= scale:
            return _significant(value / scale, digits) + suffix
    return _significant(value, digits)


def flops(value: float, digits: int = 4) -> str:
    """1.234e+23."""
    value = float(value)
    return f"{value:.{digits - 1}e}" if math.isfinite(value) else "-"


def dollars(value: float, digits: int = 3) -> str:
    """$1.43M, $712k, $42.0, -$3.10k."""
    value = float(value)
    if not math.isfinite(value):
        return "-"
    sign = "-" if value < 0 else ""
    return sign + "$" + count(abs(value), digits)


def plain(value: float, digits: int = 3) -> str:
    """57.8, 1.41, 1,210 for a plain quantity such as tokens per parameter."""
    value = float(value)
    if not math.isfinite(value):
        return "-"
    if abs(value) >= 10 ** digits:
        return f"{value:,.0f}"
    return _significant(value, digits)


def ratio(value: float) -> str:
    """A ratio as a percentage with four significant digits (70.96%), or a factor above 10 (13.42×)."""
    value = float(value)
    if not math.isfinite(value):
        return "-"
    if abs(value) > 10:
        return _significant(value, 4) + "×"
    return _significant(100 * value, 4) + "%"


def share(value: float) -> str:
    """A ratio in a sentence: '70.96% of' or '14.68×' (followed by 'the ...')."""
    text = ratio(value)
    return text + " of" if text.endswith("%") else text


def hours(value: float, digits: int = 3) -> str:
    """GPU-hours: 1.23M, 4,560, 12.3."""
    return count(value, digits) if abs(float(value)) >= 1e4 else plain(value, digits)


KIND = {
    "params": count, "tokens": count, "inference_tokens": count, "requests": count,
    "tokens_per_param": plain, "epochs": plain, "loss": lambda v: f"{float(v):.6g}",
    "train_flops": flops, "inference_flops": flops, "total_flops": flops, "compute": flops,
    "train_cost": dollars, "prefill_cost": dollars, "decode_cost": dollars, "inference_cost": dollars,
    "total_cost": dollars, "train_gpu_hours": hours, "inference_gpu_hours": hours, "train_days": plain,
}


def readable(key: str, value: float) -> str:
    """The text of a named quantity (params, tokens, *_flops, *_cost, tokens_per_param, ...)."""
    return KIND.get(key, lambda v: f"{float(v):.4g}")(value)


LABELS = {  # how each named quantity is called in text tables
    "params": "Model size (params)", "tokens": "Training data (tokens)", "tokens_per_param": "Tokens per parameter",
    "train_flops": "Training FLOPs", "inference_flops": "Inference FLOPs", "total_flops": "Total FLOPs",
    "train_cost": "Training cost", "prefill_cost": "Prefill cost", "decode_cost": "Decode cost",
    "inference_cost": "Inference cost", "total_cost": "Total cost", "train_gpu_hours": "Training GPU-hours",
    "inference_gpu_hours": "Inference GPU-hours", "train_days": "Training days",
}
