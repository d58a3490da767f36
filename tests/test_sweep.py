"""`symscale sweep`: grid parsing, the vectorised table, the fast CSV/JSON writer and the command."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from symscale.base.errors import InputError
from symscale.scenarios.sweep import parse_grid, sweep_table, write_table
from symscale.solvers.solve import solve_compute_optimal


def test_grids_from_ranges_and_lists():
    assert np.allclose(parse_grid("1:3:5"), [1, 1.5, 2, 2.5, 3])
    assert np.allclose(parse_grid("1e9:1e13:5", log=True), [1e9, 1e10, 1e11, 1e12, 1e13])
    assert np.allclose(parse_grid("1B, 7B,13e9,2T"), [1e9, 7e9, 13e9, 2e12])
    assert np.allclose(parse_grid("2.0:2.0:1"), [2.0])
    assert np.allclose(parse_grid("3:1:3"), [3, 2, 1])  # a reversed range runs downwards


@pytest.mark.parametrize("text, log, message", [
    ("1:2:0", False, "count must be a positive whole number"),
    ("1:2:2.5", False, "count must be a positive whole number"),
    ("2.0:2.5:1", False, "a range of one value needs start = stop"),
    ("1:2:" + "9" * 10_000, False, "is too large"),
    ("1:2:" + "0" * 10_000, False, "count must be a positive whole number"),
    ("0:1e9:4", True, "positive start and stop"),
    ("1:2", False, "start:stop:count"),
    ("", False, "empty"),
    ("1,x", False, "not a number"),
])
def test_bad_grids_say_what_to_change(text, log, message):
    with pytest.raises(InputError, match=message):
        parse_grid(text, log)


def test_table_is_quality_major_and_matches_scalar_solves():
    losses, demand = np.array([2.0, 2.3]), np.array([0.0, 1e11, 1e13])
    table = sweep_table(losses, demand)
    assert list(table)[:2] == ["loss", "inference_tokens"]
    assert np.allclose(table["loss"], [2.0, 2.0, 2.0, 2.3, 2.3, 2.3])
    assert np.allclose(table["inference_tokens"], [0, 1e11, 1e13] * 2)
    for i, (loss, tokens) in enumerate(zip(table["loss"], table["inference_tokens"])):
        one = solve_compute_optimal(loss, tokens)
        assert table["optimal_params"][i] == pytest.approx(float(one.optimal.params), rel=1e-12)
        assert table["ratio_total_flops"][i] == pytest.approx(float(one.ratio["total_flops"]), rel=1e-12)
    assert np.allclose(table["ratio_total_flops"][[0, 3]], 1.0)  # no demand: Chinchilla is optimal


def test_chinchilla_sizes_reproduce_table2_first_row():
    table = sweep_table([1e9], [50e9], quality_kind="chinchilla_params")
    assert table["chinchilla_params"][0] == 1e9 and table["baseline_params"][0] == pytest.approx(1e9)
    assert table["loss"][0] == pytest.approx(2.5311, abs=1e-4)
    assert table["optimal_params"][0] == pytest.approx(6.33e8, rel=2e-3)   # Table 2 prints 6.33M: a typo
    assert table["optimal_tokens"][0] == pytest.approx(46.8e9, rel=2e-3)


def test_requests_with_tokens_per_request_for_the_compute_objective():
    table = sweep_table([2.0], [1e9], demand_kind="requests", tokens_per_request=1000)
    assert table["requests"][0] == 1e9 and table["inference_tokens"][0] == 1e12
    with pytest.raises(InputError, match="tokens per request"):
        sweep_table([2.0], [1e9], demand_kind="requests")


def test_cost_objective_columns_and_token_demand_conversion():
    from symscale.solvers.costs import CostSettings

    table = sweep_table([2.0], [2e12], objective="cost", settings=CostSettings(input_tokens=70, output_tokens=215))
    assert table["requests"][0] == pytest.approx(2e12 / 285)
    for key in ("baseline_total_cost", "optimal_total_cost", "optimal_decode_cost", "ratio_total_cost"):
        assert key in table
    assert table["ratio_total_cost"][0] < 1 and table["optimal_total_cost"][0] < table["baseline_total_cost"][0]


def test_csv_round_trips_to_the_printed_digits():
    table = sweep_table(np.linspace(1.9, 2.6, 7), np.geomspace(1e9, 1e14, 11))
    out = io.StringIO()
    write_table(table, out, "csv", digits=10)
    frame = pd.read_csv(io.StringIO(out.getvalue()))
    assert list(frame.columns) == list(table)
    for key, values in table.items():
        assert np.allclose(frame[key].to_numpy(), values, rtol=6e-10, atol=0), key


def test_json_rows_are_objects_and_valid_json():
    table = sweep_table([2.0, 2.1], [0.0, 1e12])
    out = io.StringIO()
    write_table(table, out, "json", meta={"objective": "compute"}, digits=6)
    data = json.loads(out.getvalue())
    assert data["objective"] == "compute" and data["columns"] == list(table)
    assert len(data["rows"]) == 4 and data["rows"][1]["inference_tokens"] == 1e12
    assert data["rows"][3]["ratio_params"] == pytest.approx(table["ratio_params"][3], rel=1e-5)


def test_writer_reports_progress_in_chunks(monkeypatch):
    import symscale.scenarios.sweep as sweep

    monkeypatch.setattr(sweep, "CHUNK_ROWS", 7)
    seen = []
    table = sweep_table(np.linspace(2, 2.5, 5), np.geomspace(1e9, 1e12, 4))
    write_table(table, io.StringIO(), "csv", progress=seen.append)
    assert sum(seen) == 20 and len(seen) == 3


def test_cli_csv_to_stdout(run_cli):
    code, out, err = run_cli("sweep", "--chinchilla-params", "7B,13B", "--inference-tokens", "200B,1T")
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out))
    assert frame.shape == (4, 18)
    assert frame["optimal_params"][3] == pytest.approx(8.32e9, rel=2e-3)   # Table 2, row 3


def test_cli_json_file_and_quiet(run_cli, tmp_path):
    path = tmp_path / "grid.json"
    code, out, err = run_cli("sweep", "--loss", "2:2.4:3", "--requests", "1e6:1e10:3", "--log-demand",
                             "--objective", "cost", "--paper-settings", "-o", path, "--quiet")
    assert code == 0 and out == "" and err == ""
    data = json.loads(path.read_text())
    assert len(data["rows"]) == 9 and data["settings"]["inference"]["gpu"] == "A100-40GB"
    assert data["rows"][2]["requests"] == pytest.approx(1e10)


def test_cli_summary_on_stderr_when_writing_a_file(run_cli, tmp_path):
    code, _, err = run_cli("sweep", "--loss", "2", "--inference-tokens", "1e12", "-o", tmp_path / "a.csv")
    assert code == 0 and "1 scenarios solved" in err


@pytest.mark.parametrize("args, message", [
    (["--inference-tokens", "1e12"], "quality axis exactly once"),
    (["--loss", "2", "--chinchilla-params", "7B", "--inference-tokens", "1"], "quality axis exactly once"),
    (["--loss", "2", "--inference-tokens", "1e12", "-o", "x.txt"], "csv or"),
    (["--loss", "1.5", "--inference-tokens", "1e12"], "unreachable"),
    (["--loss", "2", "--inference-tokens", "-5"], ">= 0"),
    (["--loss", "2", "--inference-tokens", "1e12", "--train-mfu", "0.4"], "--train-mfu is an option of the cost"),
    (["--loss", "2", "--requests", "1e9", "--input-tokens", "100"], "add --objective cost"),
    (["--loss", "2", "--requests-per-day", "1e6"], "--requests-per-day needs --days"),
])
def test_cli_bad_input_is_one_line_exit_2(run_cli, args, message):
    code, _, err = run_cli("sweep", *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_a_large_grid_is_fast():
    import time

    start = time.perf_counter()
    table = sweep_table(np.linspace(1.9, 2.6, 300), np.geomspace(1e9, 1e14, 300))
    write_table(table, io.StringIO(), "csv")
    assert time.perf_counter() - start < 10


def test_progress_bar_only_on_a_terminal_and_not_when_quiet(monkeypatch):
    from symscale.cli import cmd_sweep

    monkeypatch.setattr(cmd_sweep, "is_terminal", lambda: False)
    with cmd_sweep.progress_reporter(10, "writing", quiet=False) as progress:
        assert progress is None
    monkeypatch.setattr(cmd_sweep, "is_terminal", lambda: True)
    with cmd_sweep.progress_reporter(10, "writing", quiet=True) as progress:
        assert progress is None
    with cmd_sweep.progress_reporter(10, "writing", quiet=False) as progress:
        assert callable(progress)
        progress(10)


def test_parallel_writer_gives_the_same_bytes(monkeypatch):
    """Formatting chunks in worker processes changes nothing in the output."""
    import io

    import numpy as np

    from symscale.scenarios import sweep as S

    table = S.sweep_table(np.linspace(1.9, 2.6, 30), np.geomspace(1e9, 1e14, 40))
    serial = io.StringIO()
    S.write_table(table, serial)
    monkeypatch.setattr(S, "CHUNK_ROWS", 100)
    monkeypatch.setattr(S, "PARALLEL_ROWS", 0)
    parallel = io.StringIO()
    S.write_table(table, parallel)
    assert parallel.getvalue() == serial.getvalue()
    assert serial.getvalue().count("\n") == 30 * 40 + 1


def test_cli_requests_per_day_times_days_is_a_requests_grid(run_cli):
    args = ("sweep", "--loss", "1.9,2.0", "--tokens-per-request", "500", "--json")
    code, per_day, _ = run_cli(*args, "--requests-per-day", "1e6:1e7:2", "--days", "365")
    code2, lifetime, _ = run_cli(*args, "--requests", "3.65e8,3.65e9")
    assert code == code2 == 0
    import json

    assert json.loads(per_day)["rows"] == json.loads(lifetime)["rows"]


def test_cli_quality_of_models_is_a_quality_axis(run_cli):
    """--quality-of MODEL,N:D: each model's predicted loss, the same rows as --loss at those losses."""
    import json

    from symscale.solvers.solve import loss_of

    code, out, err = run_cli("sweep", "--quality-of", "Llama-2-7B,13B:2T", "--inference-tokens", "1e12", "--json")
    assert code == 0, err
    data = json.loads(out)
    losses = [float(loss_of(7e9, 2e12)), float(loss_of(13e9, 2e12))]
    assert [m["name"] for m in data["quality"]["quality_of"]] == ["Llama-2-7B", "13B:2T"]
    assert [row["loss"] for row in data["rows"]] == pytest.approx(losses, rel=1e-9)
    code, out, _ = run_cli("sweep", "--loss", ",".join(repr(v) for v in losses), "--inference-tokens", "1e12", "--json")
    plain = json.loads(out)["rows"]
    assert [{k: v for k, v in row.items() if "reference" not in k} for row in data["rows"]] == plain
    assert [row["reference_params"] for row in data["rows"]] == [7e9, 13e9]
    code, _, err = run_cli("sweep", "--quality-of", "Nonexistent-1B", "--inference-tokens", "1e12")
    assert code == 2 and err.count("\n") == 1


def test_a_number_rounding_up_to_a_three_digit_exponent_widens_the_exponents():
    """9.99999999996e99 prints as 1.000000000e+100 (it once printed e+10: its log10 said 99)."""
    out = io.StringIO()
    write_table({"a": np.array([9.99999999996e99, 2.0, 0.0])}, out, "csv")
    assert out.getvalue() == "a\n1.000000000e+100\n2.000000000e+000\n0.000000000e+000\n"
    for value in (9.99999999996e99, 1e-100, 123.456, 5e-324, 1.7976931348623157e308):
        text = io.StringIO()
        write_table({"a": np.array([value])}, text, "csv")
        assert float(text.getvalue().split()[1]) == float(f"{value:.9e}")


@pytest.mark.parametrize("objective", [("--inference-tokens", "1e12,1e13"),
                                       ("--requests", "1e9,1e10", "--objective", "cost")])
def test_cli_quality_of_rows_carry_the_model_as_solve_prices_it(run_cli, objective):
    """sweep --quality-of: reference_* and ratio_to_reference_* equal solve --quality-of's at each row's demand."""
    import json

    code, out, err = run_cli("sweep", "--quality-of", "Llama-2-7B,Llama-2-13B", *objective, "--json")
    assert code == 0, err
    rows = json.loads(out)["rows"]
    assert len(rows) == 4
    for row in (rows[0], rows[3]):
        name = "Llama-2-7B" if row["reference_params"] == 7e9 else "Llama-2-13B"
        demand = (("--requests", repr(row["requests"]), *objective[2:]) if "--objective" in objective
                  else ("--inference-tokens", repr(row["inference_tokens"])))
        code, out, err = run_cli("solve", "--quality-of", name, *demand, "--json")
        assert code == 0, err
        solved = json.loads(out)
        for key, value in solved["ratio_to_reference"].items():
            assert row[f"reference_{key}"] == pytest.approx(solved["reference"][key], rel=1e-9), key
            assert row[f"ratio_to_reference_{key}"] == pytest.approx(value, rel=1e-8), key
