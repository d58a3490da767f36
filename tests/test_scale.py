"""Scale: chunked solves, sweeps and fits give the same answers as the unchunked code, bitwise where promised."""

import numpy as np
import pytest

import symscale.solve as S
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
