"""Scale: chunked solves, sweeps and fits give the same answers as the unchunked code, bitwise where promised."""

import numpy as np
import pytest

import symscale.solvers.solve as S
from symscale import InputError, solve_compute_optimal

FIELDS = ("params", "tokens")


def _scenarios(n: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    loss = 1.69 + 10 ** rng.uniform(-2, 0.5, n)
    demand = np.where(rng.random(n) < 0.05, 0.0, 10 ** rng.uniform(0, 20, n))
    return loss, demand


def _answers(solution) -> np.ndarray:
    return np.stack([np.ravel(getattr(getattr(solution, side), key))
                     for side in ("optimal", "baseline") for key in FIELDS])


def test_issue_example_is_bitwise_the_same_alone_and_in_a_batch():
    alone = solve_compute_optimal(1.947, 2e12)
    batch = solve_compute_optimal(np.array([1.947, 1.9, 2.5]), np.array([2e12, 1e9, 1e15]))
    assert float(batch.params[0]) == float(alone.params)
    assert float(batch.tokens[0]) == float(alone.tokens)


@pytest.mark.parametrize("chunk,threads", [(7, 1), (64, 2), (1000, 2)])
def test_answers_do_not_depend_on_batch_chunk_or_threads(monkeypatch, chunk, threads):
    loss, demand = _scenarios(5003)
    monkeypatch.setattr(S, "SOLVE_CHUNK", 10**9)
    whole = _answers(solve_compute_optimal(loss, demand))
    monkeypatch.setattr(S, "SOLVE_CHUNK", chunk)
    monkeypatch.setattr(S, "SOLVE_THREADS", threads)
    chunked = solve_compute_optimal(loss, demand)
    assert np.array_equal(_answers(chunked), whole)  # bitwise, not approximately
    for i in np.random.default_rng(0).choice(loss.size, 40, replace=False):
        alone = _answers(solve_compute_optimal(loss[i], demand[i]))[:, 0]
        assert np.array_equal(alone, whole[:, i])
    for piece in (slice(1, 18), slice(333, 4999, 3)):  # sub-batches at odd offsets, strided
        assert np.array_equal(_answers(solve_compute_optimal(loss[piece], demand[piece])), whole[:, piece])


def test_chunked_solve_keeps_shapes_and_broadcasting(monkeypatch):
    monkeypatch.setattr(S, "SOLVE_CHUNK", 5)
    loss, demand = np.linspace(1.9, 2.6, 9)[:, None], np.geomspace(1e9, 1e15, 7)[None, :]
    chunked = solve_compute_optimal(loss, demand)
    monkeypatch.setattr(S, "SOLVE_CHUNK", 10**9)
    whole = solve_compute_optimal(loss, demand)
    assert chunked.params.shape == whole.params.shape == (9, 7)
    for key in ("params", "tokens", "total_flops", "train_flops", "inference_flops"):
        assert np.array_equal(getattr(chunked.optimal, key), getattr(whole.optimal, key))
        assert np.array_equal(getattr(chunked.baseline, key), getattr(whole.baseline, key))
    assert np.array_equal(chunked.ratio["total_flops"], whole.ratio["total_flops"])
    assert np.array_equal(chunked.inference_tokens, whole.inference_tokens)


@pytest.mark.parametrize("loss,demand", [
    ([2.0] * 40 + [1.5] + [2.0] * 9, [1e12] * 50),            # a loss at the floor, in a late chunk
    ([2.0] * 50, [1e12] * 30 + [-1.0] + [1e12] * 19),          # negative demand
    ([2.0] * 30 + [float("nan")] + [1.0] * 19, [1e12] * 50),   # not finite before a floor error
])
def test_chunked_solve_refuses_what_one_call_refuses(monkeypatch, loss, demand):
    loss, demand = np.array(loss), np.array(demand)
    monkeypatch.setattr(S, "SOLVE_CHUNK", 10**9)
    with pytest.raises(InputError) as whole:
        solve_compute_optimal(loss, demand)
    monkeypatch.setattr(S, "SOLVE_CHUNK", 8)
    monkeypatch.setattr(S, "SOLVE_THREADS", 2)
    with pytest.raises(InputError) as chunked:
        solve_compute_optimal(loss, demand)
    assert str(chunked.value) == str(whole.value)


def test_chunks_near_float_limits_are_solved_by_the_checked_path(monkeypatch):
    """A chunk whose models come near float64's limits takes the checked path: same answers, same refusals."""
    coeffs = (0.336, 0.283, 406.4, 410.7, 0.0)
    calls = []
    checked = S._solve_compute_checked
    monkeypatch.setattr(S, "_solve_compute_checked", lambda *a: calls.append(1) or checked(*a))
    monkeypatch.setattr(S, "SOLVE_CHUNK", 16)
    loss = np.full(100, 2.0)
    loss[40:48] = 6e-45                               # total FLOPs about 4e307: inside the range, near its edge
    loss[70] = 6e-45
    demand = np.full(100, 1e12)
    chunked = solve_compute_optimal(loss, demand, coeffs)
    assert len(calls) == 2                            # the chunks holding rows 40-47 and row 70
    for i in (0, 41, 70, 99):
        alone = solve_compute_optimal(loss[i], demand[i], coeffs)
        assert float(chunked.params[i]) == float(alone.params) and float(chunked.tokens[i]) == float(alone.tokens)
    loss[90] = 1e-45                                  # training FLOPs overflow: refused as one call refuses it
    with pytest.raises(InputError) as error:
        solve_compute_optimal(loss, demand, coeffs)
    with pytest.raises(InputError) as alone:
        solve_compute_optimal(loss[90], demand[90], coeffs)
    assert str(error.value) == str(alone.value) and "overflows" in str(error.value)


def test_every_scenario_without_demand_in_a_chunk():
    loss = np.linspace(1.9, 2.6, 500)
    batch = solve_compute_optimal(loss, np.zeros(500))
    base = solve_compute_optimal(loss[123], 0.0)
    assert float(batch.params[123]) == float(base.params) and float(batch.tokens[123]) == float(base.tokens)
    assert np.array_equal(batch.optimal.tokens, batch.baseline.tokens)   # Chinchilla's closed form itself


# --- streamed sweeps ---------------------------------------------------------------------------
def _stream(monkeypatch, grid, fmt="csv", restartable=True, rows=37, workers=None):
    import io

    import symscale.scenarios.sweep as W

    monkeypatch.setattr(W, "STREAM_ROWS", rows)
    monkeypatch.setattr(W, "PARALLEL_ROWS", 0)
    seen = []
    out = io.StringIO()
    W.write_sweep(grid, out, fmt, meta={"objective": grid.objective}, progress=seen.append, restartable=restartable,
                  workers=workers)
    assert sum(seen) == grid.rows and len(seen) == -(-grid.rows // rows)  # the bar follows rows written
    return out.getvalue()


def _whole(grid, fmt="csv"):
    import io

    from symscale.scenarios.sweep import grid_rows, write_table

    out = io.StringIO()
    write_table(grid_rows(grid, 0, grid.rows), out, fmt, meta={"objective": grid.objective})
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize("restartable", [True, False])
@pytest.mark.parametrize("top", [1e15, 1e130])  # 1e130 tokens: exponents of three digits, found mid-stream
def test_streamed_sweep_writes_the_bytes_of_the_whole_table(monkeypatch, fmt, restartable, top):
    from symscale.scenarios.sweep import sweep_grid

    grid = sweep_grid(np.linspace(1.9, 2.6, 11), np.geomspace(1e9, top, 23))
    text = _stream(monkeypatch, grid, fmt, restartable, workers=2)
    assert text == _whole(grid, fmt)
    assert ("e+009" in text) == (top > 1e99)  # the exponent width of the whole table


def test_streamed_cost_sweep_with_chinchilla_qualities_matches(monkeypatch):
    from symscale.scenarios.sweep import sweep_grid

    grid = sweep_grid([1e9, 7e9, 70e9], np.geomspace(1e3, 1e12, 50), quality_kind="chinchilla_params",
                      demand_kind="requests", objective="cost")
    assert _stream(monkeypatch, grid, rows=16, workers=1) == _whole(grid)


def test_streamed_sweep_refuses_before_writing_to_stdout(monkeypatch):
    """A value beyond float64 in a late chunk: nothing reaches a handle that cannot be rewritten."""
    import io

    import symscale.scenarios.sweep as W
    from symscale.scenarios.sweep import sweep_grid

    monkeypatch.setattr(W, "STREAM_ROWS", 10)
    grid = sweep_grid([2.0], np.concatenate([np.geomspace(1e9, 1e12, 40), [1e306]]))
    out = io.StringIO()
    with pytest.raises(InputError, match="overflows|beyond floating-point"):
        W.write_sweep(grid, out, "csv", restartable=False)
    assert out.getvalue() == ""


def test_parquet_reads_back_the_csv_columns_and_values(run_cli, tmp_path, monkeypatch):
    pytest.importorskip("pyarrow")
    import pandas as pd

    import symscale.scenarios.sweep as W
    from symscale.scenarios.sweep import write_table

    monkeypatch.setattr(W, "STREAM_ROWS", 50)  # several row groups
    args = ["sweep", "--loss", "1.9:2.6:13", "--inference-tokens", "1e9:1e15:17", "--log-demand", "-q"]
    assert run_cli(*args, "-o", tmp_path / "g.csv")[0] == 0
    assert run_cli(*args, "-o", tmp_path / "g.parquet")[0] == 0
    csv, parquet = pd.read_csv(tmp_path / "g.csv"), pd.read_parquet(tmp_path / "g.parquet")
    assert list(parquet.columns) == list(csv.columns) and len(parquet) == 13 * 17
    np.testing.assert_allclose(parquet.to_numpy(), csv.to_numpy(), rtol=5e-10, atol=0)
    import io

    again = io.StringIO()  # the Parquet values, written with the CSV writer, give the CSV file's bytes
    write_table({name: parquet[name].to_numpy() for name in parquet.columns}, again, "csv")
    assert again.getvalue() == (tmp_path / "g.csv").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_parquet_without_pyarrow_is_one_line_naming_the_extra(run_cli, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    code, out, err = run_cli("sweep", "--loss", "2", "--inference-tokens", "1e12", "-o", tmp_path / "g.parquet")
    assert code == 2 and err.count("\n") == 1 and "symscale[parquet]" in err and "g.parquet" in err
    assert not list(tmp_path.iterdir())


def test_a_streamed_sweep_needs_memory_for_its_chunks_not_its_grid():
    from symscale.scenarios.sweep import BYTES_PER_CELL_FACTOR, check_sweep_size, stream_memory

    check_sweep_size(10_000, 10_000, columns=17, streamed=True)  # 10^8 rows: fine streamed
    assert stream_memory(17) < 10**8 * 17 * 8 * BYTES_PER_CELL_FACTOR / 20
    with pytest.raises(InputError, match="memory"):
        check_sweep_size(10_000, 10_000, columns=17)  # held whole: refused


# --- the fit's multistart in chunks of starts ----------------------------------------------------
def _synthetic_runs(n: int, seed: int = 0):
    from symscale.base.runs import Runs

    rng = np.random.default_rng(seed)
    params = 10 ** rng.uniform(7, 11, n)
    tokens = params * 10 ** rng.uniform(0, 3, n)
    loss = (406.4 * params ** -0.34 + 410.7 * tokens ** -0.28 + 1.69) * np.exp(rng.normal(0, 0.01, n))
    return Runs(params, tokens, loss, np.arange(n) + 2, "synthetic")


def test_chunked_multistart_keeps_the_optimum_of_the_47_runs(monkeypatch):
    import symscale.solvers.fit_search as FS
    from symscale.solvers.fit import load_runs

    runs = load_runs("sardana-2024")
    monkeypatch.setattr(FS, "FIT_MEMORY", 2**40)
    whole = FS.multistart(runs)
    assert FS.start_chunk(len(runs)) >= 4500  # one chunk: the search as before
    monkeypatch.setattr(FS, "FIT_MEMORY", 37 * len(runs) * FS.BYTES_PER_PAIR[True])  # chunks of 37 starts
    assert FS.start_chunk(len(runs)) == 37
    chunked = FS.multistart(runs)
    assert chunked.objective == pytest.approx(whole.objective, rel=1e-12)
    np.testing.assert_allclose(chunked.theta, whole.theta, rtol=1e-9)
    assert (chunked.n_refined, chunked.n_best_basin) == (whole.n_refined, whole.n_best_basin)


def test_chunks_of_starts_change_no_newton_answer(monkeypatch):
    import symscale.solvers.fit_search as FS

    runs = _synthetic_runs(300)
    starts = FS.chinchilla_grid()[::45]
    weights = np.random.default_rng(1).integers(0, 3, (len(starts), len(runs))).astype(float)
    monkeypatch.setattr(FS, "FIT_MEMORY", 2**40)
    whole = FS.batched_newton(starts, runs, weights=weights, max_iter=40)
    monkeypatch.setattr(FS, "FIT_MEMORY", 7 * len(runs) * FS.BYTES_PER_PAIR[True])
    chunked = FS.batched_newton(starts, runs, weights=weights, max_iter=40)
    finite = np.isfinite(whole.objective)
    assert finite.sum() > 50
    np.testing.assert_allclose(chunked.objective[finite], whole.objective[finite], rtol=1e-12)
    assert np.array_equal(chunked.iterations, whole.iterations)
    assert np.array_equal(chunked.converged, whole.converged)


def test_memory_of_a_chunk_does_not_grow_with_the_starts():
    import symscale.solvers.fit_search as FS

    for n_runs in (47, 10_000, 200_000):
        chunk = FS.start_chunk(n_runs)
        assert chunk * n_runs * FS.BYTES_PER_PAIR[True] <= max(FS.FIT_MEMORY, n_runs * FS.BYTES_PER_PAIR[True])
    assert FS.start_chunk(200_000) < FS.start_chunk(10_000) < FS.start_chunk(47)


def test_search_on_a_sample_of_many_runs_finds_the_full_search_optimum(monkeypatch):
    import symscale.solvers.fit_search as FS

    runs = _synthetic_runs(400, seed=2)
    monkeypatch.setattr(FS, "SEARCH_RUNS", 10**9)
    whole = FS.multistart(runs)
    monkeypatch.setattr(FS, "SEARCH_RUNS", 64)
    sampled = FS.multistart(runs)
    assert sampled.searched_runs == 64 and "search on 64 of the 400 runs" in sampled.describe()
    assert sampled.objective == pytest.approx(whole.objective, rel=1e-12)
    np.testing.assert_allclose(sampled.theta, whole.theta, rtol=1e-7)
    sample = FS.search_sample(runs, 64)
    assert len(np.unique(sample)) == 64 and set(sample) <= set(range(400))
