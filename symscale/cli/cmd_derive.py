"""`symscale derive`: print the Lagrange system of the paper (Eqs. 8-12), derived by sympy."""

from __future__ import annotations

import click

from symscale.cli.common import emit_json
from symscale.cli.limit_options import derive_limit_options


@click.command(short_help="Print the Lagrange system (Eqs. 8-12) and closed forms, derived by sympy.")
@click.option("--objective", type=click.Choice(["compute", "cost", "general"]), default="compute",
              show_default=True,
              help="compute: k_train = 6, k_inf = 2*D_inf (Eq. 3); cost: the dollar weights of Eq. 6; "
              "general: k_train*N*D + k_inf*N with rho = k_inf/k_train.")
@click.option("--problem", type=click.Choice(["optimum", "budget", "overhead", "breakeven"]), default="optimum",
              show_default=True,
              help="optimum: the paper's problem (fixed loss, least lifetime total); budget: best loss for a "
              "lifetime budget; overhead: a smaller-than-Chinchilla model at equal loss; breakeven: demand "
              "for a given saving or size ratio.")
@click.option("--format", "fmt", type=click.Choice(["pretty", "text", "json", "latex"]), default="pretty",
              show_default=True,
              help="How to print each expression: pretty (2-D text), text (one line), json (as --json) or latex.")
@click.option("--law", "law_spec", default=None, metavar="NAME|FORMULA",
              help="Derive the system of another law: a registered one (`symscale laws`) or a formula in N and D, "
              "e.g. 'E + A/N**a + B/D**b + C/(N*D)**g' [default: chinchilla, the paper's Eqs. 8-12].")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object: steps with key, label, text and latex of each expression.")
@derive_limit_options
def derive(objective: str, problem: str, fmt: str, as_json: bool, law_spec: str | None, **kwargs) -> None:
    """Derive and print the Lagrangian, Eqs. 8-12, Chinchilla's closed forms and the bordered Hessian.

    Everything shown is computed by sympy from the law L(N, D) = E + A/N^alpha + B/D^beta and the
    objective; nothing is typed in. Symbols: N params, D training tokens, D_inf inference tokens,
    lam the Lagrange multiplier, loss the target loss.
    """
    from symscale.cli.limit_options import limited_steps
    from symscale.laws.registry import resolve_law
    from symscale.problems.steps import Step, render, steps

    law = resolve_law(law_spec)
    limited = limited_steps(law, objective, problem, kwargs)
    if limited is not None:
        derived = [Step(key, label, expr) for key, label, expr in limited]
    elif law.is_chinchilla:
        derived = steps(objective, problem)
    else:
        from symscale.base.errors import InputError
        from symscale.problems.generic import steps as law_steps

        if objective == "cost":
            raise InputError(f"--law {law.name}: derive shows --objective compute or general for laws other "
                             "than chinchilla")
        if problem != "optimum":
            from symscale.problems.planning_generic import steps as planning_steps

            derived = [Step(key, label, expr) for key, label, expr in planning_steps(law, problem)]
        else:
            derived = [Step(key, label, expr) for key, label, expr in law_steps(law, objective)]
    if as_json or fmt == "json":
        emit_json({"objective": objective, "problem": problem, "law": law.name, "expression": law.formula, "steps": [
            {"key": st.key, "label": st.label, "text": render(st.expr, "text"), "latex": render(st.expr, "latex")}
            for st in derived]})
        return
    for st in derived:
        click.echo(f"{st.label}:")
        click.echo("\n".join("    " + line for line in render(st.expr, fmt).splitlines()))
        click.echo()


COMMANDS = [derive]
