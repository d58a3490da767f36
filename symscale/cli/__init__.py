"""The ``symscale`` command line. Each command lives in its own module; heavy imports stay inside them."""

from __future__ import annotations

import errno
import io
import os
import sys

import click

from symscale.base.errors import InputError
from symscale.base.files import Terminated, reason, signal_handlers
from symscale.cli.common import NOTES, CliError

_STDOUT_ERRORS = {errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT, errno.EBADF}


def _silence_stdout() -> None:
    """Point standard output at /dev/null so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _stop_now(message: str, status: int) -> None:
    """After Ctrl-C or SIGTERM (temporary files already removed): say so and exit at once, without joining
    worker pools at interpreter exit (a pool whose workers were killed can block that for ever)."""
    from symscale.base.parallel import stop_workers

    stop_workers()
    click.echo(message, err=True)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    import threading

    if threading.active_count() > 1:  # a pool's threads are still about
        os._exit(status)
    sys.exit(status)


class _ClosedStream(io.TextIOBase):
    """Stands in for a closed standard output (``>&-``): writing to it fails like a bad descriptor."""

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "it is closed")


class _Interrupted(BaseException):
    """Ctrl-C during a command, carried past click's own handling to main()."""


class _PipeClosed(Exception):
    """Standard output's reader went away (raised instead of BrokenPipeError, which click turns into exit 1)."""


class SymscaleGroup(click.Group):
    """A click group that reports bad input as one line on stderr with exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputError as exc:
            raise CliError(str(exc)) from None
        except BrokenPipeError:  # click would exit 1 on it; main() stops quietly instead
            raise _PipeClosed() from None
        except KeyboardInterrupt:  # past click, which would print an empty line and "Aborted!"
            raise _Interrupted() from None

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        NOTES.clear()
        if sys.stdout is None:  # started with standard output closed
            sys.stdout = _ClosedStream()
        try:
            with signal_handlers():
                code = super().main(args, prog_name, complete_var, False, **extra)
                sys.stdout.flush()  # a full or closed standard output shows here, inside the guarded region
            for note in NOTES:  # deprecation notes: only after a success, so an error stays one line
                click.echo(note, err=True)
        except click.ClickException as exc:
            click.echo(f"Error: {' '.join(exc.format_message().split())}", err=True)  # always one line
            sys.exit(exc.exit_code)
        except (BrokenPipeError, _PipeClosed):  # the reader went away (`symscale sweep ... | head`): stop quietly
            _silence_stdout()
            sys.exit(141)
        except OSError as exc:
            if exc.errno not in _STDOUT_ERRORS or exc.filename is not None:
                raise
            _silence_stdout()
            click.echo(f"Error: cannot write standard output: {reason(exc)}", err=True)
            sys.exit(2)
        except click.exceptions.Abort as exc:
            if isinstance(exc.__context__, KeyboardInterrupt):
                click.echo("Interrupted.", err=True)
                sys.exit(130)
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except (KeyboardInterrupt, _Interrupted):
            _stop_now("Interrupted.", 130)
        except Terminated:
            _stop_now("Terminated.", 143)
        except MemoryError:  # a size no check foresaw: still the input's doing, still one line
            click.echo("Error: not enough memory for this input here; use smaller sizes (grids, counts, files)",
                       err=True)
            sys.exit(2)
        except Exception as exc:  # a bug, not bad input: one line unless SYMSCALE_DEBUG asks for the traceback
            if os.environ.get("SYMSCALE_DEBUG"):
                raise
            click.echo(f"Internal error: {type(exc).__name__}: {exc} (set SYMSCALE_DEBUG=1 for the traceback; "
                       "please report it)", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=SymscaleGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="symscale")
@click.pass_context
def main(ctx: click.Context) -> None:
    """symscale: inference-aware scaling laws (Sardana et al., ICML 2024).

    How large should a language model be, and how long should it train, to reach a target
    loss and then serve its lifetime demand at the least total compute or cost?
    """
    if ctx.invoked_subcommand is None:  # bare `symscale`: the help, exit status 0
        click.echo(ctx.get_help())


def _register() -> None:
    """Attach every command module's commands to the group."""
    from symscale.cli import commands

    for command in commands.ALL:
        main.add_command(command)


_register()
