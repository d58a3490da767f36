"""The derivation and the proof report as LaTeX: compiled with pdflatex where it exists, else a strict parse."""

import re
import shutil
import subprocess

import pytest

from symscale.problems.steps import steps
from symscale.verify.proof import check_proof

PREAMBLE = r"""\documentclass{article}
\usepackage{amsmath,amssymb}
\usepackage[margin=1cm,paperwidth=60cm,paperheight=80cm]{geometry}
\begin{document}
"""
ALLOWED = {"frac", "left", "right", "alpha", "beta", "lambda", "rho", "mathrm", "text", "textbf", "quad", "infty",
           "begin", "end", "cdot", "sqrt", "log", "ln", "displaystyle", "wedge", "ast", "sim", "backslash", "vert",
           "mathbb", "in", "leq", "geq", "neq", "_", "&", "%", "#", "$", "{", "}", "\\", ",", " ", "operatorname",
           "exp", "min", "max"}


@pytest.fixture(scope="module")
def blocks():
    return {"derivation": steps().latex(), "report": check_proof().latex()}


def test_symbol_names(blocks):
    for text in blocks.values():
        assert r"\mathrm{loss}" in text and r"D_{\mathrm{inf}}" in text
        assert not re.search(r"(?<![\\a-zA-Z])lam\b", text) and "D_{inf}" not in text
    assert r"\lambda" in blocks["derivation"]


def strict_check(text: str) -> None:
    """Balanced braces and environments, only known macros, no bare _ or ^ inside \\text{...}."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "{}" and (i == 0 or text[i - 1] != "\\"):
            depth += 1 if ch == "{" else -1
            assert depth >= 0, f"unbalanced }} at {i}: {text[max(0, i - 40):i + 1]}"
    assert depth == 0, "unbalanced {"
    for macro in re.findall(r"\\([a-zA-Z]+|.)", text):
        assert macro in ALLOWED, f"unknown macro \\{macro}"
    assert re.findall(r"\\begin\{(\w+)\}", text) == re.findall(r"\\end\{(\w+)\}", text)[::-1] or \
        sorted(re.findall(r"\\begin\{(\w+)\}", text)) == sorted(re.findall(r"\\end\{(\w+)\}", text))
    for body in re.findall(r"\\text\{([^{}]*)\}", text):
        assert not re.search(r"(?<!\\)[_^]", body), f"bare _ or ^ in text mode: {body}"


def test_strict_parse(blocks):
    for text in blocks.values():
        strict_check(text)


def test_strict_parser_catches_mistakes():
    for bad in (r"\text{D_inf}", r"\frac{a}{b", r"\foo{x}", r"\text{x^2}"):
        with pytest.raises(AssertionError):
            strict_check(bad)


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no LaTeX installation (the strict parse still runs)")
def test_pdflatex_compiles(blocks, tmp_path):
    body = "\n\n".join(rf"\[{text}\]" for text in blocks.values())
    source = tmp_path / "proof.tex"
    source.write_text(PREAMBLE + body + "\n\\end{document}\n")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", source.name], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:]
    assert (tmp_path / "proof.pdf").stat().st_size > 1000
    assert "Undefined control sequence" not in run.stdout and "Missing $ inserted" not in run.stdout
