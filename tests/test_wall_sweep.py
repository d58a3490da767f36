"""The data wall beyond solve: --max-params-for GPU, sweeps with --unique-tokens and hard limits."""

from __future__ import annotations

import json

import pytest


def test_max_params_for_a_gpu_is_memory_over_bytes_per_param(run_cli):
    from symscale.costs import gpu, params_fitting

    assert gpu("H100").memory_gb == 80.0
    assert params_fitting("H100", "fp8") == 8e10
    assert params_fitting("a100-40gb", "bf16") == 2e10
    code, out, _ = run_cli("solve", "--objective", "cost", "--loss", "1.95", "--requests", "1e6", "--max-params-for",
                           "A100-40GB", "--inference-gpu", "A100-40GB", "--inference-dtype", "bf16", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["limits"]["max_params"] == 2e10
    assert report["unlimited"]["params"] > 3e10
    assert report["optimal"]["params"] == pytest.approx(2e10, rel=1e-9)
    assert report["constraints"][0]["active"] and report["constraints"][0]["multiplier"] > 0
    # the compute objective reads --inference-dtype for the limit only (default fp8: 1 byte a parameter)
    code, out, _ = run_cli("solve", "--loss", "1.95", "--max-params-for", "A100-40GB", "--json")
    assert code == 0 and json.loads(out)["limits"]["max_params"] == 4e10
    code, out, _ = run_cli("solve", "--loss", "1.95", "--max-params-for", "A100-40GB", "--inference-dtype", "fp16",
                           "--json")
    assert code == 0 and json.loads(out)["limits"]["max_params"] == 2e10


@pytest.mark.parametrize("args, message", [
    (("--max-params-for", "V100"), "unknown GPU 'V100'"),
    (("--max-params-for", "H100", "--max-params", "1e9"), "not both"),
    (("--max-params-for", "H100", "--inference-dtype", "fp4"), "unknown data type 'fp4'"),
])
def test_max_params_for_errors(run_cli, args, message):
    code, _, err = run_cli("solve", "--loss", "2.0", *args)
    assert code == 2 and message in err
