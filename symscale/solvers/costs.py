"""Dollar costs (paper Eq. 6): the GPU catalog, cost per FLOP, demand -> (k_train, k_inf), the cost-optimal model.

Only numpy and the generated kernels are used here (no sympy): the weights come from
``kernels.cost_weights``, which ``codegen`` generates from ``symbolic.COST_WEIGHTS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from symscale.base.datafiles import parsed, read_rows
from symscale.base.errors import InputError
from symscale.kernels import chinchilla as K
from symscale.solvers.solve import (
    Allocation,
    ComputeModel,
    SampleUse,
    check_in_range,
    check_in_range_or_zero,
    check_non_negative,
    check_positive,
    compute_optimal_baseline,
    objective_ratio,
    select_samples,
    solve_optimal,
)

DTYPES = ("bf16", "fp16", "fp8", "int8")
SECONDS_PER_HOUR = 3600.0

# Defaults of the authors' cost scripts (beyond-chinchilla README); --help repeats them.
DEFAULTS = {
    "train_gpu": "H100", "train_dtype": "bf16", "inference_gpu": "H100", "inference_dtype": "fp8",
    "train_mfu": 0.5, "prefill_mfu": 0.5, "decode_mfu": 0.01,
    "requests": 1e10, "input_tokens": 70.0, "output_tokens": 215.0,
}
INFERENCE_DTYPE_ORDER = ("fp8", "int8", "bf16", "fp16")
"""Without --inference-dtype, inference runs in the first of these the GPU supports (H100: fp8, A100: int8)."""
_DTYPE_ALIASES = {"bfloat16": "bf16", "float16": "fp16", "half": "fp16", "float8": "fp8", "i8": "int8"}


# --- the catalog -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Gpu:
    """One accelerator: dense peak FLOP/s per data type, default $ per GPU-hour (None: undocumented)."""

    name: str
    peaks: dict
    price: float | None
    source: str
    memory_gb: float | None = None   # memory per GPU in GB (10^9 bytes), as the datasheet names it

    def peak(self, dtype: str) -> float:
        """Peak dense FLOP/s for ``dtype``; an unsupported type is an error listing the supported ones."""
        key = normalise_dtype(dtype)
        if key not in self.peaks:
            raise InputError(f"{self.name} has no {key} peak in data/gpus.csv; it supports "
                             f"{', '.join(self.peaks)} (pass a dtype it supports, or a peak FLOP/s of your own)")
        return self.peaks[key]


def normalise_dtype(dtype: str) -> str:
    """Canonical data-type name (bf16, fp16, fp8, int8), case-insensitive, with a few aliases."""
    key = str(dtype).strip().lower()
    key = _DTYPE_ALIASES.get(key, key)
    if key not in DTYPES:
        raise InputError(f"unknown data type {dtype!r}; known types: {', '.join(DTYPES)}")
    return key


def _gpu_of_row(row: dict) -> Gpu:
    peaks = {key: float(row[key]) for key in DTYPES if row[key].strip()}
    price = float(row["price_per_hour"]) if row["price_per_hour"].strip() else None
    memory = (row.get("memory_gb") or "").strip()
    return Gpu(row["name"], peaks, price, row["source"], float(memory) if memory else None)


@lru_cache(maxsize=1)
def catalog() -> dict[str, Gpu]:
    """All accelerators of ``data/gpus.csv``, keyed by upper-case name."""
    rows = read_rows("gpus.csv", ("name", *DTYPES, "price_per_hour", "source"))
    return {gpu.name.upper(): gpu for gpu in parsed("gpus.csv", rows, _gpu_of_row)}


def gpu(name: str) -> Gpu:
    """An accelerator by catalog name, matched without regard to case."""
    table = catalog()
    key = str(name).strip().upper()
    if key not in table:
        known = ", ".join(g.name for g in table.values())
        raise InputError(f"unknown GPU {name!r}; the catalog (data/gpus.csv) has {known}")
    return table[key]


BYTES_PER_PARAM = {"bf16": 2, "fp16": 2, "fp8": 1, "int8": 1}


def params_fitting(name: str, dtype: str) -> float:
    """The most parameters whose weights fit in one GPU's memory at ``dtype`` (memory / bytes per parameter)."""
    card = gpu(name)
    if card.memory_gb is None:
        raise InputError(f"{card.name} has no memory size in data/gpus.csv; give --max-params N instead")
    return card.memory_gb * 1e9 / BYTES_PER_PARAM[normalise_dtype(dtype)]


def cost_per_flop(price_per_hour, peak_flops) -> np.ndarray:
    """Dollars per FLOP at peak: price / (3600 * peak)."""
    return np.asarray(price_per_hour, float) / (SECONDS_PER_HOUR * np.asarray(peak_flops, float))


# --- settings --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Phase:
    """Hardware of one phase (training or inference), resolved: price, peak and a label."""

    price: np.ndarray
    peak: np.ndarray
    gpu: str | None
    dtype: str | None

    @property
    def cost_per_flop(self) -> np.ndarray:
        return cost_per_flop(self.price, self.peak)

    def as_dict(self) -> dict:
        return {"gpu": self.gpu, "dtype": self.dtype, "price_per_hour": self.price, "peak_flops": self.peak,
                "cost_per_flop": self.cost_per_flop}


def resolve_phase(role: str, gpu_name=None, dtype=None, price=None, peak=None) -> Phase:
    """Resolve a phase's hardware from the catalog, or bypass it with a peak FLOP/s of the user's own."""
    opt = f"--{role}"
    if peak is not None:
        if dtype is not None:
            raise InputError(f"give {opt}-dtype or {opt}-peak-flops, not both (a given peak bypasses the catalog)")
        part = gpu(gpu_name) if gpu_name is not None else None
        if price is None and (part is None or part.price is None):
            raise InputError(f"{opt}-peak-flops needs {opt}-gpu-cost (dollars per GPU-hour)")
        price = price if price is not None else part.price
        return _checked_phase(role, price, peak, part.name if part else None, None)
    part = gpu(gpu_name if gpu_name is not None else DEFAULTS[f"{role}_gpu"])
    dtype = normalise_dtype(dtype if dtype is not None else default_dtype(role, part))
    if price is None and part.price is None:
        raise InputError(f"{part.name} has no documented price in data/gpus.csv; pass {opt}-gpu-cost")
    return _checked_phase(role, part.price if price is None else price, part.peak(dtype), part.name, dtype)


def default_dtype(role: str, part: Gpu) -> str:
    """The data type used when none is given: bf16 for training; for inference the GPU's first of
    INFERENCE_DTYPE_ORDER (so every catalog GPU works without --inference-dtype)."""
    if role != "inference":
        return DEFAULTS[f"{role}_dtype"]
    return next((key for key in INFERENCE_DTYPE_ORDER if key in part.peaks), DEFAULTS["inference_dtype"])


def _checked_phase(role: str, price, peak, gpu_name, dtype) -> Phase:
    price, peak = np.asarray(price, float), np.asarray(peak, float)
    check_positive(f"{role} GPU price per hour", price)
    check_positive(f"{role} peak FLOP/s", peak)
    phase = Phase(price, peak, gpu_name, dtype)
    with np.errstate(all="ignore"):
        check_in_range(f"{role} cost per FLOP (price / (3600 s x peak FLOP/s))", phase.cost_per_flop,
                       {"price per hour": price, "peak FLOP/s": peak})
    return phase


def check_mfu(name: str, value) -> np.ndarray:
    """Reject utilisations outside (0, 1]."""
    value = np.asarray(value, float)
    bad = ~((value > 0) & (value <= 1))
    if np.any(bad):
        raise InputError(f"{name} must be in (0, 1], got {value[bad].flat[0]:g}")
    return value


@dataclass(frozen=True)
class CostSettings:
    """Hardware, utilisation and demand of the cost objective; numeric fields may be numpy arrays.

    GPU None means H100; dtype None bf16 for training and the GPU's fastest inference type (H100 fp8); a price
    None means the catalog price; a peak given bypasses the catalog. Demand is lifetime requests
    with mean input and output tokens per request.
    """

    train_gpu: str | None = None
    train_dtype: str | None = None
    train_gpu_cost: object = None
    train_peak_flops: object = None
    inference_gpu: str | None = None
    inference_dtype: str | None = None
    inference_gpu_cost: object = None
    inference_peak_flops: object = None
    train_mfu: object = DEFAULTS["train_mfu"]
    prefill_mfu: object = DEFAULTS["prefill_mfu"]
    decode_mfu: object = DEFAULTS["decode_mfu"]
    requests: object = DEFAULTS["requests"]
    input_tokens: object = DEFAULTS["input_tokens"]
    output_tokens: object = DEFAULTS["output_tokens"]
    train: Phase = field(init=False, repr=False)
    inference: Phase = field(init=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "train", resolve_phase("train", self.train_gpu, self.train_dtype, self.train_gpu_cost,
                                          self.train_peak_flops))
        set_(self, "inference", resolve_phase("inference", self.inference_gpu, self.inference_dtype,
                                              self.inference_gpu_cost, self.inference_peak_flops))
        for name in ("train_mfu", "prefill_mfu", "decode_mfu"):
            set_(self, name, check_mfu(name.replace("_", " ").replace("mfu", "MFU"), getattr(self, name)))
        requests = np.asarray(self.requests, float)
        check_non_negative("requests", requests)
        set_(self, "requests", requests)
        for name in ("input_tokens", "output_tokens"):
            value = np.asarray(getattr(self, name), float)
            check_positive(name.replace("_", " ") + " per request", value)
            set_(self, name, value)
        self._check_range()

    def _check_range(self) -> None:
        """Lifetime tokens and the weights (k_train, k_inf) must be representable: no inf, no 0 by underflow."""
        with np.errstate(all="ignore"):
            for what, value in (("lifetime input tokens", self.lifetime_input_tokens),
                                ("lifetime output tokens", self.lifetime_output_tokens),
                                ("lifetime inference tokens", self.inference_tokens)):
                check_in_range_or_zero(what, value, {"requests": self.requests})
            k_train, k_inf = self.weights()
            check_in_range("the training weight k_train (6 x cost per FLOP / MFU)", k_train)
            check_in_range_or_zero("the inference weight k_inf (2 x cost per FLOP x tokens / MFU)", k_inf)

    @property
    def lifetime_input_tokens(self) -> np.ndarray:
        return self.requests * self.input_tokens

    @property
    def lifetime_output_tokens(self) -> np.ndarray:
        return self.requests * self.output_tokens

    @property
    def inference_tokens(self) -> np.ndarray:
        return self.lifetime_input_tokens + self.lifetime_output_tokens

    def _kernel_args(self) -> tuple:
        return (self.train.cost_per_flop, self.inference.cost_per_flop, self.train_mfu, self.prefill_mfu,
                self.decode_mfu, self.lifetime_input_tokens, self.lifetime_output_tokens)

    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        """(k_train, k_inf): dollars per parameter-token of training and per parameter of lifetime inference."""
        return K.cost_weights(*self._kernel_args())

    def weight_parts(self) -> tuple[np.ndarray, np.ndarray]:
        """(k_prefill, k_decode): the input- and output-token parts of k_inf."""
        return K.cost_weight_parts(*self._kernel_args())

    def as_dict(self) -> dict:
        """Resolved settings as plain values (the JSON ``settings`` block)."""
        return {
            "train": self.train.as_dict(), "inference": self.inference.as_dict(),
            "train_mfu": self.train_mfu, "prefill_mfu": self.prefill_mfu, "decode_mfu": self.decode_mfu,
            "requests": self.requests, "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
            "inference_tokens": self.inference_tokens,
        }


# --- models and the cost-optimal solution -----------------------------------------------------
@dataclass(frozen=True)
class CostModel(ComputeModel):
    """A model with its lifetime FLOPs (from ComputeModel) and dollars under given cost settings."""

    settings: CostSettings

    @property
    def train_cost(self) -> np.ndarray:
        return self.settings.weights()[0] * self.params * self.tokens

    @property
    def prefill_cost(self) -> np.ndarray:
        return self.settings.weight_parts()[0] * self.params

    @property
    def decode_cost(self) -> np.ndarray:
        return self.settings.weight_parts()[1] * self.params

    @property
    def inference_cost(self) -> np.ndarray:
        return self.settings.weights()[1] * self.params

    @property
    def total_cost(self) -> np.ndarray:
        return self.train_cost + self.inference_cost

    @property
    def train_gpu_hours(self) -> np.ndarray:
        """GPU-hours of training: FLOPs / (peak x MFU) / 3600, i.e. the training dollars over the hourly price."""
        return self.train_cost / self.settings.train.price

    @property
    def inference_gpu_hours(self) -> np.ndarray:
        """GPU-hours of serving the lifetime demand (prefill at its MFU plus decode at its MFU)."""
        return self.inference_cost / self.settings.inference.price

    def as_dict(self) -> dict:
        return {key: getattr(self, key) for key in MODEL_KEYS}


MODEL_KEYS = ("params", "tokens", "tokens_per_param", "train_flops", "inference_flops", "total_flops",
              "train_cost", "prefill_cost", "decode_cost", "inference_cost", "total_cost", "train_gpu_hours",
              "inference_gpu_hours")
RATIO_KEYS = ("params", "tokens", "total_flops", "total_cost")


@dataclass(frozen=True)
class CostSolution:
    """The lifetime-cost-optimal model and the Chinchilla-style model of the same loss."""

    loss: np.ndarray
    settings: CostSettings
    optimal: CostModel
    baseline: CostModel
    samples: SampleUse | None = None  # with samples=True: which replicates were used

    @property
    def ratio(self) -> dict:
        """Optimal over baseline: params, tokens, total_flops, total_cost."""
        ratio = {key: getattr(self.optimal, key) / getattr(self.baseline, key) for key in RATIO_KEYS}
        return {**ratio, "total_cost": objective_ratio(self.optimal.total_cost, self.baseline.total_cost)}

    def __repr__(self) -> str:
        from symscale.base.display import solution_repr

        return solution_repr("CostSolution", self, "total_cost")

    def _repr_html_(self) -> str:
        from symscale.base.display import solution_html

        return solution_html("Cost-optimal model", self, MODEL_KEYS)


def solve_cost_optimal(loss, settings: CostSettings | None = None, coefficients=None, *, law=None,
                       samples: bool = False, method: str = "reduced") -> CostSolution:
    """Fewest lifetime dollars (paper Eq. 6) reaching ``loss`` under ``settings`` (vectorised).

    Any numeric field of ``settings`` and ``loss`` may be arrays of a common broadcast shape, so a
    sweep over demand or prices is one call. ``samples=True`` solves each bootstrap replicate;
    ``method`` is passed to ``solve_optimal`` ('reduced' or the 'kkt' cross-check); ``law`` solves another
    law, as in :func:`symscale.solvers.solve.solve_compute_optimal`.
    """
    if law is not None:
        from symscale.laws.values import for_law

        coefficients = for_law(law, coefficients)
    settings = settings if settings is not None else CostSettings()
    k_train, k_inf = settings.weights()
    use = None
    if samples:  # only the replicates this scenario can use
        coefficients, use = select_samples(loss, k_train, k_inf, coefficients)
        samples = False
    optimum = solve_optimal(loss, k_train, k_inf, coefficients, samples=samples, method=method)
    loss_b = np.broadcast_to(np.asarray(loss, float), optimum.params.shape)
    base = compute_optimal_baseline(loss_b, coefficients, samples)
    return CostSolution(loss_b, settings, model_costs(optimum, settings), model_costs(base, settings), use)


def model_costs(model: Allocation, settings: CostSettings | None = None) -> CostModel:
    """FLOPs and dollars of a given model (params, tokens) under ``settings`` (the cost calculator)."""
    settings = settings if settings is not None else CostSettings()
    return CostModel(model.params, model.tokens, settings.inference_tokens, settings)
