"""docs/cli.md, the command reference generated from the click commands, is in step with them."""

from __future__ import annotations

import click
import pytest

from symscale.cli import main
from symscale.cli import reference as R


@pytest.fixture(scope="module")
def generated() -> str:
    return R.reference()


def test_docs_cli_md_is_up_to_date(generated):
    committed = R.DOC.read_text() if R.DOC.is_file() else ""
    assert committed == generated, f"docs/cli.md is stale: regenerate it with `{R.REGENERATE}`"


def _paths() -> list[str]:
    out = []
    for name, command in sorted(main.commands.items()):
        out.append(name)
        if isinstance(command, click.Group):
            out += [f"{name} {sub}" for sub in sorted(command.commands)]
    return out


def _command(path: str) -> click.Command:
    command = main
    for part in path.split():
        command = command.commands[part]
    return command


def test_every_command_and_visible_option_is_documented(generated):
    for path in _paths():
        assert f"`symscale {path}`" in generated, path
        command = _command(path)
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert f"| `{', '.join([*param.opts, *param.secondary_opts])}` |" in generated, (path, param.opts)


def test_hidden_aliases_are_left_out(generated):
    check_proof = generated.split("## `symscale check-proof`")[1].split("\n## ")[0]
    assert "`--format`" in check_proof and "--latex" not in check_proof
    budget = generated.split("## `symscale budget`")[1].split("\n## ")[0]
    assert "| `--total-flops` |" in budget and "| `--compute` |" not in budget


def test_defaults_and_metavars_are_shown(generated):
    solve = generated.split("## `symscale solve`")[1].split("\n## ")[0]
    assert "| `--dps` | INTEGER RANGE | 50 |" in solve
    assert "| `--method` | [reduced\\|kkt] | reduced |" in solve
    assert "| `--coefficients` | PRESET\\|FILE.json | chinchilla |" in solve
    assert "UNSET" not in generated and "| `--help` |" not in generated


def test_every_command_with_json_has_an_example_whose_keys_are_listed(generated):
    for path in _paths():
        command = _command(path)
        if any(p.name == "as_json" for p in command.params):
            assert path in R.JSON_EXAMPLES, f"add a small --json input for `symscale {path}` to JSON_EXAMPLES"
    solve = generated.split("## `symscale solve`")[1].split("\n## ")[0]
    for key in ("baseline", "optimal", "ratio", "warnings"):
        assert f"- `{key}`: " in solve


def test_describe_json_lists_keys_types_and_nested_keys():
    lines = R.describe_json({"a": 1.0, "b": {"x": 1, "y": 2}, "c": [{"p": 1}], "d": "s", "e": [], "f": None,
                             "g": True})
    assert lines == ["- `a`: number", "- `b`: object (`x`, `y`)", "- `c`: list of objects (`p`)", "- `d`: string",
                     "- `e`: list", "- `f`: null or a value", "- `g`: true/false"]


def test_the_generator_writes_only_with_write(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(R, "DOC", tmp_path / "docs" / "cli.md")
    monkeypatch.setattr(R, "reference", lambda: "# page\n")
    assert R.main_entry([]) == 0 and capsys.readouterr().out == "# page\n" and not R.DOC.exists()
    assert R.main_entry(["--write"]) == 0 and R.DOC.read_text() == "# page\n"
    assert R.main_entry(["--bogus"]) == 2
