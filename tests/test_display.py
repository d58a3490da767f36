"""Rich display in notebooks: derivation LaTeX, solution tables and reprs, fit results, sweep DataFrames."""

import re

import numpy as np
import pandas as pd
import pytest

from symscale.problems.steps import steps
from symscale.scenarios.sweep import sweep_table
from symscale.solvers.costs import solve_cost_optimal
from symscale.solvers.solve import solve_compute_optimal


def test_derivation_latex_is_an_aligned_block():
    derivation = steps()
    text = derivation._repr_latex_()
    assert text.startswith("$$\\begin{aligned}") and text.endswith("\\end{aligned}$$")
    assert text.count("&\\quad") == len(derivation) == 14
    assert r"\left(E - \mathrm{loss}\right) + \left(B + \frac{B \beta}{\alpha}\right) D^{- \beta}" in text  # Eq. 12
    assert "N^{-1 - \\alpha}" in derivation[4]._repr_latex_()                    # Eq. 9 combined


def test_compute_solution_display():
    sol = solve_compute_optimal(1.947, 2e12)
    text = repr(sol)
    assert "np.float64" not in text and len(text) < 200
    assert text.startswith("ComputeSolution(loss=1.947, inference_tokens=2e12: params 2.418e10 (70.96% of Chinchilla)")
    html = sol._repr_html_()
    cells = re.findall(r"<td>([^<]*)</td>", html)
    assert html.count("<tr>") == 7 and "Chinchilla-style" in html and "Optimal" in html
    assert cells[:3] == ["34.08B", "24.18B", "70.96%"]           # params: baseline, optimum, ratio (readable)
    assert f"{100 * float(sol.ratio['total_flops']):.2f}%" in html


def test_cost_solution_display():
    sol = solve_cost_optimal(1.947)
    assert "np.float64" not in repr(sol) and "total_cost 46.00%" in repr(sol)
    html = sol._repr_html_()
    assert "Total cost" in html and "Training GPU-hours" in html
    assert f"{100 * float(sol.ratio['total_cost']):.2f}%" in html


def test_array_solution_display():
    sol = solve_compute_optimal(np.array([1.9, 2.0]), 1e12)
    assert repr(sol).startswith("ComputeSolution(2 scenarios, shape (2,): params ")
    assert "2 scenarios" in sol._repr_html_()


def test_sweep_is_a_dataframe():
    table = sweep_table([1.9, 2.0], [0, 1e12])
    frame = table.to_frame()
    assert isinstance(frame, pd.DataFrame) and frame.shape[0] == 4
    assert frame["loss"].tolist() == [1.9, 1.9, 2.0, 2.0]
    assert "<table" in table._repr_html_() and "ratio_total_flops" in table._repr_html_()
    assert table["loss"].tolist() == [1.9, 1.9, 2.0, 2.0]                     # still a dict of columns


@pytest.fixture(scope="module")
def fitted():
    from symscale.solvers.fit import fit, load_runs

    return fit(load_runs("sardana-2024"))


def test_fit_result_html(fitted):
    html = fitted._repr_html_()
    assert "Fit statistics" in html and f"<td>{fitted.n_runs}</td>" in html
    for key in ("alpha", "beta", "A", "B", "E"):
        assert f"<td style='text-align:left'>{key}</td>" in html
    from symscale.base.display import readable

    assert f"<td>{readable(fitted.coefficients.alpha)}</td>" in html


def test_derive_prints_eq12_grouped_and_eq9_combined(run_cli):
    _, text, _ = run_cli("derive", "--format", "text")
    assert "Eq((E - loss) + (B + B*beta/alpha)/D**beta + (D_inf*B*beta/(3*alpha))*D**(-1 - beta), 0)" in text
    assert "N*N**alpha" not in text and "D*D**beta" not in text and "-A*alpha*N**(-1 - alpha)" in text
    _, pretty, _ = run_cli("derive")
    assert "-λ⋅" in pretty and not re.search(r"\blam\b", pretty)
