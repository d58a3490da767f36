"""The cost objective (paper Eq. 6): catalog, weights from the symbolic model, the authors' examples,
Table 3 and the Section 6 claims, and randomised optimality checks."""

from __future__ import annotations

import numpy as np
import pytest

from symscale.base.errors import InputError
from symscale.kernels import chinchilla as kernels
from symscale.solvers.costs import CostSettings, catalog, gpu, model_costs, solve_cost_optimal
from symscale.solvers.solve import Allocation, chinchilla, coefficient_values, loss_of

# --- the catalog ---------------------------------------------------------------------------------


def test_catalog_has_the_papers_numbers():
    a40, a80, h100 = gpu("A100-40GB"), gpu("A100-80GB"), gpu("H100")
    for part in (a40, a80):
        assert part.peak("bf16") == 312e12 and part.peak("int8") == 624e12
    assert h100.peak("bf16") == 989e12 and h100.peak("fp8") == 1979e12 and h100.peak("int8") == 1979e12
    assert (a40.price, a80.price, h100.price) == (1.10, 1.50, 2.00)
    assert {"H200", "B200"} <= {g.name for g in catalog().values()}
    assert gpu("h200").price is None and gpu("B200").peak("fp8") == 4.5e15
    assert all(g.source for g in catalog().values())


def test_gpu_names_ignore_case_and_unknown_names_list_the_catalog():
    assert gpu("a100-80gb").name == "A100-80GB"
    with pytest.raises(InputError, match="A100-40GB, A100-80GB, H100, H200, B200"):
        gpu("V100")


def test_unsupported_dtype_lists_the_supported_ones():
    with pytest.raises(InputError, match=r"A100-40GB has no fp8.*bf16, fp16, int8"):
        CostSettings(inference_gpu="A100-40GB", inference_dtype="fp8")
    assert CostSettings(inference_gpu="A100-40GB").inference.dtype == "int8"  # the default: the GPU's fastest
    assert CostSettings(inference_gpu="A100-40GB").inference.peak == 6.24e14
    assert CostSettings().inference.dtype == "fp8" and CostSettings().train.dtype == "bf16"
    with pytest.raises(InputError, match="unknown data type"):
        CostSettings(train_dtype="fp64")


def test_unpriced_gpu_needs_a_price_and_own_peak_bypasses_catalog():
    with pytest.raises(InputError, match="no documented price"):
        CostSettings(inference_gpu="H200")
    assert CostSettings(inference_gpu="H200", inference_gpu_cost=3.0).inference.price == 3.0
    own = CostSettings(train_peak_flops=1e15, train_gpu_cost=2.5)
    assert own.train.cost_per_flop == pytest.approx(2.5 / (3600 * 1e15), rel=1e-15)
    assert own.train.gpu is None
    with pytest.raises(InputError, match="needs --train-gpu-cost"):
        CostSettings(train_peak_flops=1e15)
    with pytest.raises(InputError, match="not both"):
        CostSettings(train_peak_flops=1e15, train_gpu_cost=1.0, train_dtype="bf16")


@pytest.mark.parametrize("kwargs, message", [
    ({"train_mfu": 0.0}, "train MFU must be in"),
    ({"decode_mfu": 1.5}, "decode MFU must be in"),
    ({"train_gpu_cost": -1.0}, "price per hour must be > 0"),
    ({"inference_peak_flops": 0.0, "inference_gpu_cost": 1.0}, "peak FLOP/s must be > 0"),
    ({"input_tokens": 0.0}, "input tokens per request must be > 0"),
    ({"output_tokens": -5.0}, "output tokens per request must be > 0"),
    ({"requests": -1.0}, "requests must be >= 0"),
])
def test_bad_settings_are_input_errors(kwargs, message):
    with pytest.raises(InputError, match=message):
        CostSettings(**kwargs)


# --- weights come from the symbolic model -----------------------------------------------------------


def test_generated_weights_match_symbolic_cost_weights():
    import sympy as sp

    from symscale.problems import chinchilla as s

    k_tr, k_in = s.COST_WEIGHTS[s.k_train], s.COST_WEIGHTS[s.k_inf]
    prefill, decode = k_in.subs(s.D_output, 0), k_in.subs(s.D_input, 0)
    assert sp.simplify(prefill + decode - k_in) == 0
    args = (s.c_train, s.c_inf, s.mfu_train, s.mfu_prefill, s.mfu_decode, s.D_input, s.D_output)
    values = (1.3e-18, 4.9e-19, 0.5, 0.4, 0.2, 1e13, 2.5e12)
    subs = dict(zip(args, values))
    expected = [float(e.subs(subs)) for e in (k_tr, k_in, prefill, decode)]
    got = [*kernels.cost_weights(*values), *kernels.cost_weight_parts(*values)]
    assert got == pytest.approx(expected, rel=1e-14)


def test_cost_per_flop_is_price_over_3600_peak():
    settings = CostSettings()
    assert settings.train.cost_per_flop == pytest.approx(2.0 / (3600 * 989e12), rel=1e-15)
    assert settings.inference.cost_per_flop == pytest.approx(2.0 / (3600 * 1979e12), rel=1e-15)


# --- the authors' README examples ------------------------------------------------------------------

README_COST = dict(train_gpu="A100-80GB", train_gpu_cost=1.40, inference_gpu="A100-40GB", inference_dtype="int8",
                   inference_gpu_cost=0.60, train_mfu=0.5, prefill_mfu=0.4, decode_mfu=0.2,
                   requests=1e10, input_tokens=1000, output_tokens=250)


def test_readme_cost_optimal_example():
    sol = solve_cost_optimal(1.947, CostSettings(**README_COST))
    assert float(sol.optimal.params) == pytest.approx(2.053e10, rel=5e-4)
    assert float(sol.optimal.tokens) == pytest.approx(3.302e12, rel=5e-4)
    assert float(sol.ratio["params"]) == pytest.approx(0.6023, abs=5e-5)
    assert float(sol.ratio["tokens"]) == pytest.approx(1.8241, abs=5e-5)
    assert float(sol.ratio["total_cost"]) == pytest.approx(0.8876, abs=5e-5)
    assert float(sol.baseline.total_cost) == pytest.approx(1.6055e6, rel=1e-4)
    assert float(sol.optimal.total_cost) == pytest.approx(1.4251e6, rel=1e-4)


CALCULATOR = dict(inference_gpu="A100-40GB", inference_dtype="int8", requests=1e9, input_tokens=500, output_tokens=100)


def test_readme_cost_calculator_example_honours_the_price_options():
    """The README's 30B example passes $1.50 (train) and $0.60 (inference) but prints the cost at the
    default prices ($2.00 H100, $1.10 A100-40GB): the authors' calculator ignores both price options.
    symscale honours them; at the default prices it reproduces the printed $3.146e5 / $6.378e5."""
    model = chinchilla(params=30e9)
    honoured = model_costs(model, CostSettings(**CALCULATOR, train_gpu_cost=1.50, inference_gpu_cost=0.60))
    assert float(honoured.train_cost) == pytest.approx(2.3598e5, rel=1e-4)
    assert float(honoured.inference_cost) == pytest.approx(1.7628e5, rel=1e-4)
    assert float(honoured.total_cost) == pytest.approx(4.1226e5, rel=1e-4)
    assert float(honoured.total_flops) == pytest.approx(3.161e23, rel=5e-4)
    printed = model_costs(model, CostSettings(**CALCULATOR))   # the default prices the script actually used
    assert float(printed.train_cost) == pytest.approx(3.146e5, rel=5e-4)
    assert float(printed.total_cost) == pytest.approx(6.378e5, rel=5e-4)
    assert float(printed.total_flops) == pytest.approx(3.161e23, rel=5e-4)


def test_readme_70b_on_10t_tokens_default_hardware():
    costs = model_costs(Allocation(np.asarray(70e9), np.asarray(10e12)))
    assert float(costs.train_cost) == pytest.approx(4.719e6, rel=5e-4)


# --- the paper: Table 3 and Section 6 (settings of App. B.2 / B.3) ----------------------------------

def paper_settings(requests, inference_price: float = 1.10) -> CostSettings:
    """App. B.2/B.3: train A100-80GB bf16 $1.50, inference A100-40GB int8, MFU 0.5/0.5/0.01, 70 + 215 tokens."""
    return CostSettings(train_gpu="A100-80GB", train_gpu_cost=1.50, inference_gpu="A100-40GB",
                        inference_dtype="int8", inference_gpu_cost=inference_price,
                        train_mfu=0.5, prefill_mfu=0.5, decode_mfu=0.01,
                        requests=requests, input_tokens=70, output_tokens=215)


# requests, Chinchilla params, Chinchilla total $, optimal params, optimal tokens, optimal total $, savings
TABLE3 = np.array([
    (175e6, 1e9, 3.77e3, 327e6, 152e9, 1.89e3, 0.50),
    (702e6, 7e9, 124e3, 2.90e9, 929e9, 81.8e3, 0.34),
    (3.51e9, 13e9, 987e3, 4.30e9, 3.1e12, 500e3, 0.49),   # printed "430B": a typo for 4.30B (see below)
    (17.5e9, 30e9, 10.8e6, 8.58e9, 12.1e12, 4.52e6, 0.58),
    (35.1e9, 70e9, 51.5e6, 21.5e9, 27e12, 23.8e6, 0.54),
])


def table3(inference_price: float = 1.10) -> dict:
    """Table 3 recomputed in one vectorised call; relative differences from the printed values."""
    req, n_chin, base_cost, n_opt, d_opt, opt_cost, savings = TABLE3.T
    base = chinchilla(params=n_chin)
    loss = loss_of(base.params, base.tokens)
    sol = solve_cost_optimal(loss, paper_settings(req, inference_price))
    ours = {"baseline total_cost": sol.baseline.total_cost, "params": sol.optimal.params,
            "tokens": sol.optimal.tokens, "optimal total_cost": sol.optimal.total_cost,
            "savings": 1 - sol.ratio["total_cost"]}
    printed = {"baseline total_cost": base_cost, "params": n_opt, "tokens": d_opt, "optimal total_cost": opt_cost,
               "savings": savings}
    return {key: (ours[key], printed[key], ours[key] / printed[key] - 1) for key in ours}


def print_table3(rows: dict) -> None:
    for key, (ours, printed, rel) in rows.items():
        print(f"{key:20s}", "  ".join(f"{o:.3g} vs {p:.3g} ({100 * r:+.1f}%)" for o, p, r in zip(ours, printed, rel)))


def test_table3_with_the_stated_settings_is_systematically_off():
    """With the settings App. B.2/B.3 state (inference on A100-40GB at $1.10/h), every row's Chinchilla
    cost is ~10 % above the printed one, the optimal cost 5-7 % above, params 2-3 % below and tokens
    6-8 % above: a systematic gap, not rounding. The savings agree within 2.5 points."""
    rows = table3(1.10)
    print_table3(rows)
    assert np.all((rows["baseline total_cost"][2] > 0.08) & (rows["baseline total_cost"][2] < 0.11))
    assert np.all((rows["optimal total_cost"][2] > 0.05) & (rows["optimal total_cost"][2] < 0.08))
    assert np.all((rows["params"][2] > -0.035) & (rows["params"][2] < -0.02))
    assert np.all((rows["tokens"][2] > 0.05) & (rows["tokens"][2] < 0.09))
    assert np.all(np.abs(rows["savings"][0] - rows["savings"][1]) < 0.025)


def test_table3_matches_an_inference_price_near_one_dollar():
    """The gap is explained by inference priced ~10 % lower than stated: at $1.00/h every printed
    quantity is reproduced within 2.5 % (most within 1.5 %); fitting the price row by row gives
    $0.98-0.99/h for every quantity (tests below)."""
    rows = table3(1.00)
    print_table3(rows)
    for key in ("baseline total_cost", "params", "optimal total_cost"):
        assert np.all(np.abs(rows[key][2]) < 0.015), key
    assert np.all(np.abs(rows["tokens"][2]) < 0.025)   # printed with 2-3 significant digits ("27T")
    assert np.all(np.abs(rows["savings"][0] - rows["savings"][1]) < 0.01)


def test_table3_row3_params_typo():
    """Row 3 prints 430B params for the cost-optimal model; its 3.1T tokens and the loss constraint need ~4.2B."""
    base = chinchilla(params=13e9)
    loss = float(loss_of(base.params, base.tokens))
    sol = solve_cost_optimal(loss, paper_settings(3.51e9, 1.00))
    assert float(sol.optimal.params) == pytest.approx(4.30e9, rel=0.02)
    assert float(loss_of(430e9, 3.1e12)) < loss - 0.1    # 430B on 3.1T would be far better than required


def _claim(n_chin: float, requests: float, inference_price: float):
    base = chinchilla(params=n_chin)
    return solve_cost_optimal(float(loss_of(base.params, base.tokens)), paper_settings(requests, inference_price))


def test_section6_30b_quality_with_1_5b_requests():
    """Sec. 6: 16B params on 3.35T tokens, 17 % cheaper.

    Stated settings: 15.7B, 3.51T, 19 %; inference at $1.00/h: 16.1B, 3.37T, 17 %."""
    stated, low = _claim(30e9, 1.5e9, 1.10), _claim(30e9, 1.5e9, 1.00)
    assert float(stated.optimal.params) == pytest.approx(15.67e9, rel=1e-3)
    assert float(stated.optimal.tokens) == pytest.approx(3.507e12, rel=1e-3)
    assert 1 - float(stated.ratio["total_cost"]) == pytest.approx(0.190, abs=1e-3)
    assert float(low.optimal.params) == pytest.approx(16e9, rel=0.01)
    assert float(low.optimal.tokens) == pytest.approx(3.35e12, rel=0.01)
    assert 1 - float(low.ratio["total_cost"]) == pytest.approx(0.17, abs=0.005)


def test_section6_70b_with_2t_tokens_of_demand():
    """Sec. 6: at 2T tokens (7.02B requests) Chinchilla-70B needs 1.3 % more FLOPs than the compute-optimal
    model but costs 36 % more than the cost-optimal one. Stated settings: 39.5 %; $1.00/h: 36.2 %."""
    from symscale.solvers.solve import solve_compute_optimal

    base = chinchilla(params=70e9)
    compute = solve_compute_optimal(float(loss_of(base.params, base.tokens)), 7.02e9 * 285)
    assert 1 / float(compute.ratio["total_flops"]) - 1 == pytest.approx(0.013, abs=5e-4)
    assert 1 / float(_claim(70e9, 7.02e9, 1.10).ratio["total_cost"]) - 1 == pytest.approx(0.395, abs=1e-3)
    assert 1 / float(_claim(70e9, 7.02e9, 1.00).ratio["total_cost"]) - 1 == pytest.approx(0.36, abs=0.005)


@pytest.mark.parametrize("row", range(len(TABLE3)))
def test_fitted_inference_price_is_below_the_stated_one(row):
    """Solve for the inference price that reproduces each printed optimal params value: $0.98-0.99/h, not $1.10."""
    from scipy.optimize import brentq

    req, n_chin, _, n_opt = TABLE3[row][:4]
    base = chinchilla(params=n_chin)
    loss = float(loss_of(base.params, base.tokens))
    price = brentq(lambda p: float(solve_cost_optimal(loss, paper_settings(req, p)).optimal.params) / n_opt - 1,
                   0.5, 2.0)
    assert 0.97 < price < 1.0


# --- randomised checks -------------------------------------------------------------------------------

def random_settings(rng: np.random.Generator, size: int) -> tuple[np.ndarray, CostSettings]:
    """Random losses and settings spanning the catalog-free space (own peaks and prices)."""
    loss = 1.69 + 10 ** rng.uniform(-1.3, 0.3, size)
    settings = CostSettings(
        train_peak_flops=10 ** rng.uniform(14, 15.7, size), train_gpu_cost=rng.uniform(0.5, 5, size),
        inference_peak_flops=10 ** rng.uniform(14, 15.7, size), inference_gpu_cost=rng.uniform(0.5, 5, size),
        train_mfu=rng.uniform(0.2, 0.7, size), prefill_mfu=rng.uniform(0.1, 0.9, size),
        decode_mfu=rng.uniform(0.005, 0.5, size), requests=10 ** rng.uniform(5, 12, size),
        input_tokens=rng.uniform(10, 4000, size), output_tokens=rng.uniform(10, 2000, size))
    return loss, settings


def test_random_cost_solutions_satisfy_eq12_and_the_constraint():
    loss, settings = random_settings(np.random.default_rng(6), 2000)
    sol = solve_cost_optimal(loss, settings)
    k_train, k_inf = settings.weights()
    coeffs = coefficient_values(None)
    residual = kernels.reduced(sol.optimal.tokens, loss, k_inf / k_train, *coeffs)
    assert np.max(np.abs(residual) / (loss - coeffs[4])) < 1e-12
    assert np.max(np.abs(loss_of(sol.optimal.params, sol.optimal.tokens) - loss) / loss) < 1e-12
    assert np.all(sol.optimal.total_cost <= sol.baseline.total_cost * (1 + 1e-12))


@pytest.mark.parametrize("factor", [0.98, 1.02, 0.8, 1.25])
def test_random_cost_solutions_beat_neighbours_on_the_constraint(factor):
    """Move D by ``factor`` and N along L(N, D) = loss: lifetime cost must rise."""
    loss, settings = random_settings(np.random.default_rng(7), 500)
    sol = solve_cost_optimal(loss, settings)
    alpha, beta, A, B, E = coefficient_values(None)
    d = sol.optimal.tokens * factor
    n = (A / (loss - E - B / d**beta)) ** (1 / alpha)
    neighbour = model_costs(Allocation(n, d), settings)
    ok = np.isfinite(n)
    assert ok.mean() > 0.9
    assert np.all(neighbour.total_cost[ok] > sol.optimal.total_cost[ok])


def test_demand_sweep_is_one_vectorised_call_matching_scalars():
    requests = np.logspace(6, 12, 7)
    sweep = solve_cost_optimal(2.0, CostSettings(requests=requests))
    for i, r in enumerate(requests):
        one = solve_cost_optimal(2.0, CostSettings(requests=r))
        assert float(sweep.optimal.params[i]) == pytest.approx(float(one.optimal.params), rel=1e-13)
        assert float(sweep.ratio["total_cost"][i]) == pytest.approx(float(one.ratio["total_cost"]), rel=1e-13)
    assert np.all(np.diff(sweep.optimal.params) < 0)    # more demand -> smaller, longer-trained models


def test_cost_pieces_add_up_and_zero_demand_is_chinchilla():
    sol = solve_cost_optimal(1.947, CostSettings(**README_COST))
    for model in (sol.optimal, sol.baseline):
        assert float(model.prefill_cost + model.decode_cost) == pytest.approx(float(model.inference_cost), rel=1e-14)
        assert float(model.total_cost) == pytest.approx(float(model.train_cost + model.inference_cost), rel=1e-14)
        assert set(model.as_dict()) >= {"train_cost", "inference_cost", "total_cost", "total_flops"}
    none = solve_cost_optimal(1.947, CostSettings(requests=0))
    assert float(none.optimal.params) == pytest.approx(float(none.baseline.params), rel=1e-12)


def test_bootstrap_samples_solve_per_replicate():
    """Each bootstrap replicate of the coefficients is solved; replicate i equals a plain solve with it."""
    import numpy as np

    from symscale.laws.coefficients import Coefficients, preset

    base = preset("chinchilla")
    rng = np.random.default_rng(0)
    samples = {k: v * (1 + 0.02 * rng.standard_normal(50)) for k, v in base.as_dict().items()}
    boot = Coefficients(**base.as_dict(), samples=samples)
    sol = solve_cost_optimal(2.0, CostSettings(), boot, samples=True)
    assert sol.optimal.params.shape == (50,)
    one = Coefficients(**{k: float(v[7]) for k, v in samples.items()})
    single = solve_cost_optimal(2.0, CostSettings(), one)
    assert float(sol.optimal.params[7]) == pytest.approx(float(single.optimal.params), rel=1e-13)
    assert float(sol.ratio["total_cost"][7]) == pytest.approx(float(single.ratio["total_cost"]), rel=1e-13)
