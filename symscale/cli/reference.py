"""The command-line reference, docs/cli.md, generated from the click commands themselves.

    python -m symscale.cli.reference > docs/cli.md     # print it
    python -m symscale.cli.reference --write           # write docs/cli.md of this checkout

For every command (and every `plot` subcommand): its help text, its arguments and options (names, value,
default, help; hidden options left out) and the top-level keys of its JSON output, read from a run of the
command with --json on the small input in ``JSON_EXAMPLES``. tests/test_cli_reference.py regenerates the page
and fails when the committed one differs.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any

import click

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
MODULE = "symscale.cli.reference"
REGENERATE = f"python -m {MODULE} --write"

# A small input per command; the keys of its --json output are listed in the reference.
JSON_EXAMPLES: dict[str, list[str]] = {
    "breakeven": ["--loss", "2.0", "--saving", "0.1", "--json"],
    "budget": ["--total-flops", "1e23", "--json"],
    "calc": ["--params", "7e9", "--tokens", "1.4e11", "--json"],
    "check-proof": ["--json"],
    "closed-form": ["--beta", "1/2", "--json"],
    "datasets": ["--json"],
    "derive": ["--json"],
    "fit": ["--runs", "sardana-2024", "--json"],
    "fit-score": ["--runs", "sardana-2024", "--score-col", "mmlu_5_shot_avg", "--json"],
    "hardware": ["--json"],
    "laws": ["--json"],
    "overhead": ["--loss", "2.0", "--params", "7e9", "--json"],
    "plot data-wall": ["--law", "muennighoff-2023", "--loss", "2.1131", "--inference-tokens", "3.65e12",
                       "-o", "wall.png", "--json"],
    "plot fig2": ["-o", "fig2.png", "--json"],
    "plot fig6": ["-o", "fig6.png", "--json"],
    "plot rollout": ["--runs", "sardana-2024", "-o", "rollout.png", "--json"],
    "plot scenario": ["--loss", "2.0", "--inference-tokens", "1e12", "-o", "scenario.png", "--json"],
    "reproduce": ["claims", "--json"],
    "solve": ["--loss", "2.0", "--inference-tokens", "1e12", "--json"],
    "sweep": ["--loss", "2.0,2.1", "--inference-tokens", "1e12", "--json"],
    "unique-tokens": ["--law", "muennighoff-2023", "--loss", "2.1", "--json"],
    "verify": ["--random", "3", "--json"],
}

MAX_SUBKEYS = 14
"""An object's keys are listed up to this many."""


# --- text helpers ------------------------------------------------------------------------------
def _escape(text: str) -> str:
    """Text for a markdown paragraph or table cell: *, _, |, < and backslashes made literal (`code` kept)."""
    return re.sub(r"([*_|<\\])", r"\\\1", text)


def _cell(text: str) -> str:
    return _escape(" ".join(str(text).split()))


def _help_paragraphs(text: str | None) -> str:
    """A command's docstring as markdown paragraphs (click's \\b markers dropped)."""
    if not text:
        return ""
    text = inspect.cleandoc(text).split("\f")[0]
    paragraphs = [" ".join(line.strip() for line in block.splitlines() if line.strip() != "\b")
                  for block in re.split(r"\n\s*\n", text)]
    return "\n\n".join(_escape(p) for p in paragraphs if p)


def _default(param: click.Parameter, ctx: click.Context) -> str:
    """The default as the user sees it ('' when there is none)."""
    default = param.get_default(ctx, call=False)
    if default is getattr(click.core, "UNSET", object()):
        return ""
    if callable(default):
        return "(computed)"
    if isinstance(param, click.Option) and param.is_flag and not param.secondary_opts:
        return "on" if default else ""
    if default is None or default == () or default == []:
        return ""
    if isinstance(default, (tuple, list)):
        return ", ".join(map(str, default))
    return str(default)


def _metavar(param: click.Parameter, ctx: click.Context) -> str:
    if isinstance(param, click.Option) and param.is_flag:
        return ""
    return param.make_metavar(ctx)


# --- one command ----------------------------------------------------------------------------------
def _options_table(command: click.Command, ctx: click.Context) -> list[str]:
    """The arguments and visible options of a command as a markdown table."""
    rows, help_option = [], command.get_help_option(ctx)
    for param in command.get_params(ctx):
        if getattr(param, "hidden", False) or param is help_option:
            continue
        if isinstance(param, click.Argument):
            names = param.human_readable_name
            help_text = "Argument" + (" (required)" if param.required else " (optional)")
        else:
            names = ", ".join([*param.opts, *param.secondary_opts])
            help_text = (param.help or "") + (" Required." if param.required else "")
            if param.multiple and "repeatable" not in help_text.lower():
                help_text += " Repeatable."
        cells = (_cell(_metavar(param, ctx)), _cell(_default(param, ctx)), _cell(help_text))
        rows.append(f"| `{names}` | " + " | ".join(cells) + " |")
    if not rows:
        return []
    return ["| Option | Value | Default | Description |", "|---|---|---|---|", *rows]


def describe_json(data: Any) -> list[str]:
    """Markdown bullets: each top-level key with its type, and an object's (or list of objects') own keys."""
    lines = []
    for key, value in data.items():
        lines.append(f"- `{key}`: {_kind(value)}")
    return lines


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object" + _keys(value)
    if isinstance(value, list):
        items = [v for v in value if isinstance(v, dict)]
        return "list of objects" + _keys(items[0]) if items else "list"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null or a value"
    return "string"


def _keys(obj: dict) -> str:
    keys = list(obj)
    if not keys:
        return ""
    shown = ", ".join(f"`{k}`" for k in keys[:MAX_SUBKEYS])
    return f" ({shown}{', ...' if len(keys) > MAX_SUBKEYS else ''})"


def json_keys(path: str) -> tuple[list[str], dict] | None:
    """Run ``symscale PATH`` with its JSON example in a scratch directory: (argv, the JSON object)."""
    import os
    import tempfile

    from click.testing import CliRunner

    from symscale.cli import main

    args = JSON_EXAMPLES.get(path)
    if args is None:
        return None
    argv = [*path.split(), *args]
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:  # files the example writes land here
        os.chdir(scratch)
        try:
            result = CliRunner().invoke(main, argv)
        finally:
            os.chdir(here)
    if result.exit_code != 0:
        raise RuntimeError(f"`symscale {' '.join(argv)}` failed ({result.exit_code}): {result.stderr.strip()} "
                           f"-- update JSON_EXAMPLES in {MODULE}")
    return argv, json.loads(result.stdout)


def command_section(path: str, command: click.Command, parent: click.Context, level: int) -> list[str]:
    """The markdown of one command: heading, help, usage, options, JSON keys."""
    ctx = click.Context(command, info_name=path.split()[-1], parent=parent)
    usage = " ".join(command.collect_usage_pieces(ctx))
    lines = [f"{'#' * level} `symscale {path}`", "", _help_paragraphs(command.help), "",
             f"Usage: `symscale {path} {usage}`", ""]
    table = _options_table(command, ctx)
    if table:
        lines += [*table, ""]
    found = json_keys(path)
    if found is not None:
        argv, data = found
        lines += [f"JSON (top-level keys of `symscale {' '.join(argv)}`):", "", *describe_json(data), ""]
    elif any(p.name == "as_json" for p in command.params):
        lines += [f"JSON: `--json` prints one object (no example run is listed in `{MODULE}.JSON_EXAMPLES`).",
                  ""]
    return lines


# --- the page -----------------------------------------------------------------------------------
def reference() -> str:
    """docs/cli.md: every command, its options and defaults, and its JSON keys."""
    from symscale.cli import main

    root = click.Context(main, info_name="symscale")
    lines = ["# symscale command reference", "",
             f"Generated from the click commands by `{REGENERATE}`; do not edit by hand (a test regenerates it "
             "and fails on any difference). Options left out here are hidden aliases kept for one release.", "",
             _help_paragraphs(main.help), "", "Commands: " + ", ".join(
                 f"[`{name}`](#symscale-{name})" for name in sorted(main.commands) if not main.commands[name].hidden),
             ""]
    for name in sorted(main.commands):
        command = main.commands[name]
        if command.hidden:
            continue
        lines += command_section(name, command, root, 2)
        if isinstance(command, click.Group):
            group_ctx = click.Context(command, info_name=name, parent=root)
            for sub in sorted(command.commands):
                if not command.commands[sub].hidden:
                    lines += command_section(f"{name} {sub}", command.commands[sub], group_ctx, 3)
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n"


def main_entry(argv: list[str] | None = None) -> int:
    """Print the reference, or with --write replace docs/cli.md (atomically)."""
    argv = sys.argv[1:] if argv is None else argv
    text = reference()
    if argv == ["--write"]:
        from symscale.base.files import write_text_atomic

        DOC.parent.mkdir(exist_ok=True)
        write_text_atomic(DOC, text)
        print(f"wrote {DOC}", file=sys.stderr)
    elif argv:
        print(f"usage: python -m {MODULE} [--write]", file=sys.stderr)
        return 2
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main_entry())
