"""The ``symscale`` command line. Each command lives in its own module; heavy imports stay inside them."""

from __future__ import annotations

import os
import sys

import click

from ..errors import InputError
from .common import CliError


class SymscaleGroup(click.Group):
    """A click group that reports bad input as one line on stderr with exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputError as exc:
            raise CliError(str(exc)) from None

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            click.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except Exception as exc:  # a bug, not bad input: one line unless SYMSCALE_DEBUG asks for the traceback
            if os.environ.get("SYMSCALE_DEBUG"):
                raise
            click.echo(f"Internal error: {type(exc).__name__}: {exc} (set SYMSCALE_DEBUG=1 for the traceback; "
                       "please report it)", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=SymscaleGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="symscale")
def main() -> None:
    """symscale: inference-aware scaling laws (Sardana et al., ICML 2024).

    How large should a language model be, and how long should it train, to reach a target
    loss and then serve its lifetime demand at the least total compute or cost?
    """


def _register() -> None:
    """Attach every command module's commands to the group."""
    from . import commands

    for command in commands.ALL:
        main.add_command(command)


_register()
