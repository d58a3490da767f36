"""``symscale datasets`` and ``symscale hardware``: what the package bundles, with sources."""

from __future__ import annotations

import click

from symscale.cli.common import emit_json, render_table


@click.command("datasets")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def datasets_command(as_json: bool) -> None:
    """The bundled datasets of training runs, with their source, licence and columns.

    Give a dataset's name wherever a runs file is asked for: symscale fit --runs sardana-2024
    """
    from symscale.base.datasets import datasets

    table = list(datasets().values())
    if as_json:
        emit_json({"datasets": [d.as_dict() for d in table]})
        return
    blocks = []
    for d in table:
        blocks.append("\n".join([
            f"{d.name}  ({d.rows} runs, data/{d.file})",
            f"  {d.description}",
            f"  Source: {d.source}",
            f"  Licence: {d.license}",
            f"  Columns: {', '.join(d.columns())}",
        ]))
    click.echo("\n\n".join(blocks))


@click.command("hardware")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def hardware_command(as_json: bool) -> None:
    """The GPU catalog used by the cost objective: peak FLOP/s per data type and price per hour."""
    from symscale.solvers.costs import DTYPES, catalog

    gpus = list(catalog().values())
    if as_json:
        emit_json({"gpus": [{"name": g.name, "peak_flops": g.peaks, "price_per_hour": g.price, "source": g.source}
                            for g in gpus]})
        return
    rows = [(g.name, *(f"{g.peaks[t]:.3g}" if t in g.peaks else "-" for t in DTYPES),
             "-" if g.price is None else f"${g.price:.2f}") for g in gpus]
    click.echo(render_table(rows, ("GPU", *(f"{t} FLOP/s" for t in DTYPES), "$/hour")))
    click.echo("\nSources:\n" + "\n".join(f"  {g.name}: {g.source}" for g in gpus))


COMMANDS = [datasets_command, hardware_command]
