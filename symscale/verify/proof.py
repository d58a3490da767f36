"""The Appendix A check: each step of the paper's proof derived with sympy and set beside the printed version.

Every step is a :class:`Step` holding the sympy objects as derived (``derived``) and as printed in the
paper (``paper``), a verdict and an explanation, with readable (``str``) and LaTeX (``latex()``,
``_repr_latex_`` for notebooks) forms, so a step can be taken apart in a REPL::

    >>> from symscale.verify.proof import check_proof
    >>> steps = check_proof()
    >>> steps[4].derived - steps[4].paper      # Eq. 11, derived minus printed
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import sympy as sp

from symscale.laws.coefficients import Coefficients, preset, resolve
from symscale.problems import chinchilla as S
from symscale.problems.steps import combine_powers, grouped_reduced

PAPER_COEFFICIENTS = {"A": 406.4, "B": 410.7, "E": 1.69, "alpha": 0.336, "beta": 0.283}
"""The constants quoted in Appendix A (Hoffmann et al. 2022, unrounded exponents)."""

PRINTED_COEFFICIENT = sp.Float("756.6")
"""The coefficient printed in the numeric form of Eq. 12."""

DEFAULT_LOSS, DEFAULT_DEMAND = 1.947, 2e12
EXAMPLE = {"loss": DEFAULT_LOSS, "inference_tokens": DEFAULT_DEMAND}
"""The default instance for the numeric checks (the README example)."""

THEOREM_BETAS = ("1/2", "1/3", "1/4")
"""Concrete betas for the theorem: two solvable in radicals, one (degree 5) whose Galois group decides."""

VERDICTS = {"holds": True, "imprecise": True, "fails": False}
TOLERANCE = 1e-9
"""Relative residual under which an equation counts as satisfied at the float solver's optimum."""


def num(value: float, digits: int = 6) -> str:
    """A readable number: 1.947, 2e12, 3.16e10 (no float noise, no 'e+')."""
    text = f"{float(value):.{digits}g}"
    mantissa, _, exponent = text.partition("e")
    return f"{mantissa}e{int(exponent)}" if exponent else text


@dataclass(frozen=True)
class Inputs:
    """The instance the steps are evaluated at: coefficients, target loss, lifetime inference tokens."""

    coefficients: Coefficients
    loss: float = DEFAULT_LOSS
    inference_tokens: float = DEFAULT_DEMAND

    @property
    def reachable(self) -> bool:
        """Whether the law can reach the loss (loss > E): only then is there an optimum."""
        return self.loss > self.coefficients.E

    def values(self) -> dict:
        """The sympy substitution for coefficients, loss and demand (compute objective)."""
        c = self.coefficients
        d_inf = sp.Float(self.inference_tokens)
        weights = {key: value.subs(S.D_inf, d_inf) for key, value in S.COMPUTE_WEIGHTS.items()}
        return {S.alpha: sp.Float(c.alpha), S.beta: sp.Float(c.beta), S.A: sp.Float(c.A), S.B: sp.Float(c.B),
                S.E: sp.Float(c.E), S.loss: sp.Float(self.loss), S.D_inf: d_inf,
                S.rho: weights[S.k_inf] / weights[S.k_train], **weights}

    def describe(self) -> str:
        """One line naming every input."""
        c = self.coefficients
        return (f"loss {num(self.loss)}, {num(self.inference_tokens)} inference tokens, coefficients {c.name} "
                f"(alpha = {num(c.alpha)}, beta = {num(c.beta)}, A = {num(c.A)}, B = {num(c.B)}, E = {num(c.E)})")

    def optimum(self) -> dict | None:
        """N*, D* and lambda* from the float solver (None when the loss is unreachable)."""
        return _optimum(self) if self.reachable else None


@lru_cache(maxsize=64)
def _optimum(inputs: Inputs) -> dict:
    from symscale.solvers.solve import solve_compute_optimal

    sol = solve_compute_optimal(inputs.loss, inputs.inference_tokens, inputs.coefficients)
    point = {S.N: sp.Float(float(sol.params)), S.D: sp.Float(float(sol.tokens))}
    lam = S.derive().lam_solution.subs(inputs.values()).subs(point)   # lambda from the D-equation of Eq. 10
    return {**point, S.lam: sp.Float(lam)}


@dataclass(frozen=True)
class Check:
    """The step's test re-run at the inputs: ok (None: does not apply there) and the numbers behind it."""

    ok: bool | None
    lines: tuple[str, ...]

    @property
    def label(self) -> str:
        return {True: "ok", False: "FAILS", None: "n/a"}[self.ok]


@dataclass
class Step:
    """One step of the proof: sympy objects as derived and as printed, with a verdict."""

    id: str
    title: str
    derived: Any
    paper: Any
    verdict: str
    detail: str
    extra: dict = field(default_factory=dict)
    numbers: tuple[str, ...] = ()
    check: Check | None = None
    reason: str = ""

    @property
    def holds(self) -> bool:
        """True when the paper's step is right (possibly imprecisely worded)."""
        return VERDICTS[self.verdict]

    def __str__(self) -> str:
        lines = [f"[{self.id}] {self.title}: {self.verdict.upper()}"]
        if self.derived is not None:
            lines.append(f"    derived: {_text(self.derived)}")
        if self.paper is not None:
            lines.append(f"    paper:   {_text(self.paper)}")
        lines += [f"    {line}" for line in self.detail.splitlines()]
        if self.check is not None and self.check.lines:
            lines.append(f"    check at the inputs: {self.check.label}: {self.check.lines[0]}")
        return "\n".join(lines)

    def show(self) -> str:
        """The step's expressions pretty-printed, then the same with the inputs' numbers put in."""
        out = [f"[{self.id}] {self.title}: {self.verdict}"]
        for label, obj in (("derived", self.derived), ("paper", self.paper)):
            if obj is not None:
                out += [f"  {label}:", *("    " + line for line in _pretty(obj).splitlines())]
        if self.numbers:
            out += ["  with numbers:", *("    " + line for line in self.numbers)]
        return "\n".join(out)

    def why(self) -> str:
        """Why the verdict: the counterexample or the reason, with the inputs' numbers."""
        head = {"holds": "This step holds.", "imprecise": "Imprecise:", "fails": "Fails:"}[self.verdict]
        body = self.reason or self.detail
        tail = [f"  {line}" for line in self.check.lines] if self.check else []
        return "\n".join([f"{head} {body}", *(["Check at the inputs: " + self.check.label] if tail else []), *tail])

    def latex(self) -> str:
        """LaTeX of the derived and printed forms (math mode; compiles with pdflatex and amsmath)."""
        from symscale.problems.steps import tex_text

        parts = [rf"\textbf{{{tex_text(self.id)}}}\quad {tex_text(f'{self.title} ({self.verdict})')}"]
        if self.derived is not None:
            parts.append(r"\text{derived: } " + _latex(self.derived))
        if self.paper is not None:
            parts.append(r"\text{paper: } " + _latex(self.paper))
        return r" \\ ".join(parts)

    def _repr_latex_(self) -> str:
        return "$$" + r"\begin{gathered}" + self.latex() + r"\end{gathered}" + "$$"

    def _repr_html_(self) -> str:
        rows = [("verdict", _badge(self.verdict)), ("derived", _code(self.derived)), ("paper", _code(self.paper)),
                ("detail", html.escape(self.detail).replace("\n", "<br>"))]
        if self.numbers:
            rows.append(("with numbers", "<br>".join(map(html.escape, self.numbers))))
        if self.check is not None:
            rows.append(("check", f"{self.check.label}: " + "<br>".join(map(html.escape, self.check.lines))))
        body = "".join(f"<tr><th style='text-align:left'>{k}</th><td style='text-align:left'>{v}</td></tr>"
                       for k, v in rows if v)
        return f"<b>[{html.escape(self.id)}] {html.escape(self.title)}</b><table>{body}</table>"

    def as_dict(self) -> dict:
        """The ``check-proof --json`` entry."""
        return {
            "id": self.id, "title": self.title, "holds": self.holds, "verdict": self.verdict, "detail": self.detail,
            "derived": None if self.derived is None else _text(self.derived),
            "paper": None if self.paper is None else _text(self.paper),
            **({"extra": self.extra} if self.extra else {}),
            **({"check": {"ok": self.check.ok, "lines": list(self.check.lines)}} if self.check else {}),
        }


_COLOURS = {"holds": "#2e7d32", "imprecise": "#b26a00", "fails": "#c62828"}


def _badge(verdict: str) -> str:
    return f"<span style='color:{_COLOURS[verdict]};font-weight:bold'>{verdict}</span>"


def _code(obj: Any) -> str:
    return "" if obj is None else f"<code>{html.escape(_text(obj))}</code>"


class ProofReport(list):
    """The steps of the walk (a list of Step) with their inputs, counts, text, LaTeX and a notebook table."""

    def __init__(self, steps, inputs: Inputs | None = None):
        super().__init__(steps)
        self.inputs = inputs

    def counts(self) -> dict[str, int]:
        """How many steps hold, are imprecise, fail (the same numbers as the table)."""
        return {verdict: sum(s.verdict == verdict for s in self) for verdict in VERDICTS}

    def summary(self) -> str:
        """'13 steps: 10 hold, 2 imprecise, 1 fails; the paper is wrong at: claim-c'."""
        c = self.counts()
        failed = [s.id for s in self if not s.holds]
        fails = f"{c['fails']} fail" + ("s" if c["fails"] == 1 else "")
        wrong = f"; the paper is wrong at: {', '.join(failed)}" if failed else ""
        return f"{len(self)} steps: {c['holds']} hold, {c['imprecise']} imprecise, {fails}{wrong}"

    def as_dict(self) -> dict:
        """The ``check-proof --json`` object (counts equal the steps' verdicts)."""
        out = {"steps": [s.as_dict() for s in self], "counts": self.counts(),
               "all_hold": all(s.holds for s in self), "failed": [s.id for s in self if not s.holds]}
        if self.inputs is not None:
            c = self.inputs.coefficients
            out = {"coefficients": c.as_dict(), "coefficients_name": c.name,
                   "loss": self.inputs.loss, "inference_tokens": self.inputs.inference_tokens, **out}
        return out

    def latex(self) -> str:
        """Every step's LaTeX, one per row of a gathered block."""
        return r"\begin{gathered}" + r" \\[6pt] ".join(s.latex() for s in self) + r"\end{gathered}"

    def _repr_html_(self) -> str:
        head = "<tr><th>step</th><th>title</th><th>verdict</th><th>check at the inputs</th></tr>"
        rows = "".join(
            f"<tr><td><code>{html.escape(s.id)}</code></td><td style='text-align:left'>{html.escape(s.title)}</td>"
            f"<td>{_badge(s.verdict)}</td><td style='text-align:left'>"
            f"{html.escape(s.check.label + ': ' + s.check.lines[0]) if s.check and s.check.lines else ''}</td></tr>"
            for s in self)
        caption = html.escape(self.inputs.describe()) if self.inputs else ""
        return (f"<table><caption>Appendix A, step by step. {caption}</caption>{head}{rows}</table>"
                f"<p>{html.escape(self.summary())}</p>")


def _text(obj: Any) -> str:
    """One-line sympy string of an expression, matrix, equation tuple or dict."""
    if isinstance(obj, dict):
        return "; ".join(f"{k} = {_text(v)}" for k, v in obj.items())
    if isinstance(obj, (tuple, list)):
        return ";  ".join(_text(o) for o in obj)
    if isinstance(obj, sp.Equality):
        return f"{sp.sstr(obj.lhs, order='none')} = {sp.sstr(obj.rhs, order='none')}"
    if isinstance(obj, sp.MatrixBase):
        return "(" + ", ".join(sp.sstr(e) for e in obj) + ")"
    return sp.sstr(obj, order="none") if isinstance(obj, sp.Basic) else str(obj)


def _pretty(obj: Any) -> str:
    """Multi-line sympy pretty print of the same kinds of objects (lambda shown as the Greek letter)."""
    if isinstance(obj, dict):
        return "\n".join(f"{k}:\n" + "\n".join("  " + line for line in _pretty(v).splitlines())
                         for k, v in obj.items())
    if isinstance(obj, (tuple, list)):
        return "\n".join(_pretty(o) for o in obj)
    if isinstance(obj, sp.Basic):
        return sp.pretty(obj.subs(S.lam, sp.Symbol("lambda", real=True)), use_unicode=True, order="none")
    return str(obj)


KEY_LATEX = {"objective": r"\text{objective}", "constraint": r"\text{constraint}", "N_opt(C)": r"N_{\mathrm{opt}}(C)",
             "D_opt(C)": r"D_{\mathrm{opt}}(C)", "D*(loss)": r"D^{*}(\mathrm{loss})", "dg/dD": r"\frac{dg}{dD}",
             "g(0+)": r"g(0^{+})", "g(oo)": r"g(\infty)"}


def _latex(obj: Any) -> str:
    """LaTeX of the same kinds of objects."""
    from symscale.problems.steps import tex_text

    if isinstance(obj, dict):
        return r",\ ".join(f"{KEY_LATEX.get(k) or tex_text(k)} = {_latex(v)}" for k, v in obj.items())
    if isinstance(obj, (tuple, list)):
        return r",\quad ".join(_latex(o) for o in obj)
    return S.latex(obj, order="none") if isinstance(obj, sp.Basic) else tex_text(obj)


def _same(a: sp.Expr, b: sp.Expr) -> bool:
    """Whether two expressions are identical for positive symbols."""
    return sp.simplify(sp.sympify(a) - sp.sympify(b)) == 0


def _same_eq(a: sp.Equality, b: sp.Equality) -> bool:
    return _same(a.lhs - a.rhs, b.lhs - b.rhs)


def _tidy(expr: sp.Expr) -> sp.Expr:
    """exp(sum of logs) written back as a product of powers."""
    arg = sp.expand(sp.expand_log(sp.log(expr), force=True))
    return sp.powsimp(sp.exp(sp.logcombine(arg, force=True)), force=True)


# --- the steps ---------------------------------------------------------------------------------
def step_objective() -> Step:
    """Eq. 7 and the constraint: the compute objective 6ND + 2N*D_inf and L(N, D) = loss."""
    objective = S.compute_instance(S.objective)
    paper_objective = 6 * S.N * S.D + 2 * S.N * S.D_inf
    paper_law = S.E + S.A / S.N**S.alpha + S.B / S.D**S.beta
    ok = _same(objective, paper_objective) and _same(S.law, paper_law)
    return Step("eq7", "objective (Eq. 7) and constraint", {"objective": objective, "constraint": sp.Eq(S.law, S.loss)},
                {"objective": paper_objective, "constraint": sp.Eq(paper_law, S.loss)}, "holds" if ok else "fails",
                "The general objective k_train*N*D + k_inf*N with k_train = 6, k_inf = 2*D_inf is Eq. 3; "
                "D_inf is data (fixed), not a decision variable.")


def step_gradients(model) -> list[Step]:
    """Eqs. 8 and 9: gradients of the objective and of the law in (N, D)."""
    grad_c = S.compute_instance(model.grad_objective)
    ok8 = all(_same(a, b) for a, b in zip(grad_c, S.PAPER["eq8"]))
    ok9 = all(_same(a, b) for a, b in zip(model.grad_law, S.PAPER["eq9"]))
    return [
        Step("eq8", "gradient of the objective (Eq. 8)", grad_c, S.PAPER["eq8"], "holds" if ok8 else "fails",
             "Components (d/dN, d/dD), i.e. the paper's i-hat and j-hat."),
        Step("eq9", "gradient of the law (Eq. 9)", combine_powers(model.grad_law), S.PAPER["eq9"],
             "holds" if ok9 else "fails",
             "Both components are negative: more parameters or more tokens always lower the loss."),
    ]


def step_system(model) -> Step:
    """Eq. 10: grad C = lambda * grad L together with the constraint."""
    derived = combine_powers(tuple(S.compute_instance(eq) for eq in model.kkt))
    ok = all(_same_eq(a, b) for a, b in zip(derived, S.PAPER["eq10"]))
    return Step("eq10", "Lagrange system (Eq. 10)", derived, S.PAPER["eq10"], "holds" if ok else "fails",
                "From the Lagrangian C - lambda*(L - loss). Because both gradients of L are negative and those "
                "of C positive, lambda < 0 at the solution.")


def step_elimination(model) -> Step:
    """Eq. 11: lambda eliminated, the parameter term A/N**alpha as a function of D."""
    derived = S.compute_instance(model.param_term)
    ok = _same(derived, S.PAPER["eq11"])
    return Step("eq11", "lambda eliminated (Eq. 11)", sp.Eq(S.A / S.N**S.alpha, derived),
                sp.Eq(S.A / S.N**S.alpha, S.PAPER["eq11"]), "holds" if ok else "fails",
                f"lambda = {sp.sstr(model.lam_solution)} from the D-equation, substituted into the N-equation.")


def step_reduced(model) -> Step:
    """Eq. 12: the reduced equation in D alone."""
    derived = S.compute_instance(model.reduced)
    ok = _same(derived, S.PAPER["eq12"])
    grouped = grouped_reduced("compute")
    ok = ok and _same(grouped.doit(), derived)
    return Step("eq12", "reduced equation (Eq. 12)", sp.Eq(grouped, 0), sp.Eq(S.PAPER["eq12"], 0),
                "holds" if ok else "fails", "Eq. 11 substituted into the constraint.")


def _form_parts(coefficients: Coefficients) -> dict:
    """The numeric form a*x**(-beta-1) + k*x**(-beta) + c of Eq. 12 for the given coefficients."""
    model = S.derive()
    values = {S.alpha: sp.Float(coefficients.alpha), S.beta: sp.Float(coefficients.beta), S.B: sp.Float(coefficients.B)}
    k1 = S.compute_instance(model.reduced_k1).subs(values)
    a = S.compute_instance(model.reduced_k2).subs(values)
    return {"a": a, "k": k1, "c": S.E - S.loss,
            "exponents": (-sp.Float(coefficients.beta) - 1, -sp.Float(coefficients.beta))}


def _short(value, digits: int = 6) -> sp.Float:
    """A Float that prints with ``digits`` significant digits (no float noise in the printed form)."""
    return sp.Float(f"{float(value):.{digits}g}", digits)


def step_numeric_form(coefficients: Coefficients) -> Step:
    """The form a x^-1.283 + 756.6 x^-0.283 + c = 0: exponents and the coefficient beta*B/alpha + B."""
    paper_coeffs = Coefficients(**PAPER_COEFFICIENTS, name="appendix-a")
    parts = _form_parts(paper_coeffs)
    general = S.beta * S.B / S.alpha + S.B
    same_k = _same(S.derive().reduced_k1, general)
    close = abs(parts["k"] - PRINTED_COEFFICIENT) <= sp.Float("0.05")
    exps_ok = [round(float(e), 3) for e in parts["exponents"]] == [-1.283, -0.283]
    ok = same_k and close and exps_ok
    x = sp.Symbol("x", positive=True)
    a, c = sp.Symbol("a"), sp.Symbol("c")
    derived = sp.Eq(a * x ** _short(parts["exponents"][0], 4) + _short(parts["k"], 7) * x ** _short(
        parts["exponents"][1], 3) + c, 0)
    paper = sp.Eq(a * x ** sp.Float("-1.283", 4) + PRINTED_COEFFICIENT * x ** sp.Float("-0.283", 3) + c, 0)
    detail = (f"beta*B/alpha + B = {float(parts['k']):.4f} with the Appendix A constants, printed as 756.6 "
              f"({'matches' if close else 'does NOT match'} to the printed 4 significant digits); exponents "
              f"-beta-1 = {float(parts['exponents'][0]):.3f}, -beta = {float(parts['exponents'][1]):.3f}.")
    if coefficients.as_dict() != paper_coeffs.as_dict():
        mine = _form_parts(coefficients)
        detail += (f"\nWith the chosen coefficients ({coefficients.name}) the form reads "
                   f"a*x^{num(mine['exponents'][0], 4)} + {num(mine['k'])}*x^{num(mine['exponents'][1], 4)} + c = 0 "
                   f"with a = {num(mine['a'] / S.D_inf, 5)}*D_inf and c = E - loss.")
    return Step("numeric-form", "numeric form a x^-1.283 + 756.6 x^-0.283 + c = 0", derived, paper,
                "holds" if ok else "fails", detail,
                {"coefficient": float(parts["k"]), "printed": 756.6,
                 "a_per_inference_token": float(parts["a"] / S.D_inf)})


def step_claim_a() -> Step:
    """The claim 'for arbitrary a': a = beta*B*D_inf/(3*alpha) is never negative."""
    a = S.compute_instance(S.derive().reduced_k2)
    nonneg = bool(a.is_nonnegative)
    return Step("claim-a", "'for arbitrary a'", sp.Eq(sp.Symbol("a"), a), "a arbitrary (any real number)",
                "imprecise" if nonneg else "fails",
                "a = beta*B*D_inf/(3*alpha) >= 0 (zero exactly when there is no inference demand). Arbitrary a "
                "over-states the family: for a < 0 the left side is no longer monotone and can have two roots or "
                "none. The claim about radicals only needs the a >= 0 instances, so nothing breaks, but the "
                "equation's family is a >= 0, c < 0.")


def step_claim_c() -> Step:
    """The claim 'c > 0': c = E - loss, which is negative for every reachable loss."""
    gap = sp.Symbol("s", positive=True)  # loss = E + s: A/N**alpha + B/D**beta > 0 for finite N, D
    c = S.E - S.loss
    reachable_c = c.subs(S.loss, S.E + gap)
    negative = bool(reachable_c.is_negative)
    return Step("claim-c", "'c > 0'", sp.Eq(sp.Symbol("c"), c), sp.Symbol("c") > 0,
                "fails" if negative else "holds",
                "c = E - loss. The constraint gives loss - E = A/N**alpha + B/D**beta > 0 for every finite "
                f"N, D > 0, so with loss = E + s (s > 0) c = {sp.sstr(reachable_c)} < 0: c is negative for every "
                "reachable loss, never positive.\nWith c > 0 (and a >= 0) all three terms would be positive for "
                "D > 0 and the equation would have no solution at all. The statement should read c < 0.",
                {"c_sign_for_reachable_loss": "negative"})


def step_root(model) -> Step:
    """Existence and uniqueness of the root of Eq. 12 (not stated in the paper)."""
    g = model.reduced
    dg = sp.factor(sp.diff(g, S.D))
    decreasing = bool(dg.is_negative)
    at_zero = sp.limit(g.subs(S.rho, 0), S.D, 0, "+")  # the rho-term is >= 0, so g is at least this
    at_infinity = sp.limit(g, S.D, sp.oo)
    ok = decreasing and at_zero == sp.oo and _same(at_infinity, S.E - S.loss)
    return Step("root", "a unique root exists (loss > E)", {"dg/dD": dg, "g(0+)": at_zero, "g(oo)": at_infinity},
                None, "holds" if ok else "fails",
                "Not stated in the paper, needed for the problem to be well posed: g'(D) < 0 for D > 0, "
                "g -> +oo as D -> 0+ and g -> E - loss < 0 as D -> oo, so g has exactly one root when loss > E "
                "and none otherwise.")


@lru_cache(maxsize=1)
def bordered_determinant() -> sp.Expr:
    """The bordered Hessian determinant with lambda (Eq. 10) and A/N**alpha (Eq. 11) put in, factored."""
    model = S.derive()
    det = model.bordered_hessian.det().subs(S.lam, model.lam_solution)
    return sp.powsimp(sp.factor(sp.powsimp(sp.expand(det.subs(S.A, model.param_term * S.N**S.alpha)), force=True)),
                      force=True)


def step_minimum(model, inputs: Inputs) -> Step:
    """The stationary point is a constrained minimum: bordered Hessian determinant < 0."""
    det = bordered_determinant()
    negative = bool(det.is_negative)
    derived = sp.StrictLessThan(det, 0, evaluate=False)
    return Step("minimum", "the stationary point is a minimum", derived, None, "holds" if negative else "fails",
                "Not argued in the paper. With lambda from Eq. 10 and A/N**alpha from Eq. 11 the bordered Hessian "
                "determinant factors into a manifestly negative expression, which is the second-order condition "
                "for a constrained minimum (2 variables, 1 constraint).")


def step_chinchilla_limit(model) -> Step:
    """D_inf = 0 recovers Chinchilla's closed form."""
    chin = S.chinchilla()
    root = sp.solve(model.reduced.subs(S.rho, 0), S.D)[0]
    g = (S.alpha * S.A / (S.beta * S.B)) ** (1 / (S.alpha + S.beta))
    hoffmann_n = g * (S.C / 6) ** (S.beta / (S.alpha + S.beta))
    hoffmann_d = (S.C / 6) ** (S.alpha / (S.alpha + S.beta)) / g

    def same_log(a, b):
        return sp.simplify(sp.expand_log(sp.log(a) - sp.log(b), force=True)) == 0

    ok = same_log(chin.params_of_compute, hoffmann_n) and same_log(chin.tokens_of_compute, hoffmann_d)
    ok = ok and _same(root, chin.tokens_of_loss)
    return Step("chinchilla-limit", "D_inf = 0 recovers Chinchilla", {"N_opt(C)": _tidy(chin.params_of_compute),
                "D_opt(C)": _tidy(chin.tokens_of_compute), "D*(loss)": root},
                {"N_opt(C)": hoffmann_n, "D_opt(C)": hoffmann_d}, "holds" if ok else "fails",
                "With rho = 0 Eq. 12 has the root D = (B*(1 + beta/alpha)/(loss - E))**(1/beta); with Eq. 11 and "
                "C = 6ND this is Hoffmann et al.'s N_opt = G*(C/6)**(beta/(alpha+beta)), "
                "D_opt = (C/6)**(alpha/(alpha+beta))/G, G = (alpha*A/(beta*B))**(1/(alpha+beta)).")


def _theorem_rows(inputs: Inputs) -> dict:
    """Degree, solvability and Galois group of Eq. 12 for each concrete beta at the inputs."""
    from symscale.verify.closed_forms import analyse, exact

    c = inputs.coefficients
    rho = exact(inputs.inference_tokens) / 3
    rows = {}
    for text in THEOREM_BETAS:
        r = analyse(text, inputs.loss, rho, c.alpha, c.A, c.B, c.E, dps=30)
        rows[text] = {"degree": r.degree, "solvable": r.solvable, "group": r.group,
                      "radical_digits": r.checks.get("radical_vs_mpmath_digits")}
    return rows


def _instance_words(row: dict) -> str:
    """'degree 3, solvable in radicals' / 'degree 5, Galois group S5, NOT solvable in radicals'."""
    group = f", Galois group {row['group']}" if row["group"] else ""
    state = {True: "solvable in radicals", False: "NOT solvable in radicals", None: "undecided"}[row["solvable"]]
    return f"degree {row['degree']}{group}, {state}"


def step_theorem(inputs: Inputs) -> Step:
    """Theorem A.1 on concrete instances: radicals for beta = 1/2, 1/3; a Galois group for beta = 1/4."""
    note = ""
    if not inputs.reachable:  # the instances need a reachable loss: take one above the floor
        note = f" (loss {num(inputs.loss)} is not above E; the instances use E + 0.25 instead)"
        inputs = replace(inputs, loss=inputs.coefficients.E + 0.25)
    rows = _theorem_rows(inputs)
    radicals_ok = all(rows[b]["solvable"] and (rows[b]["radical_digits"] or 0) >= 25 for b in THEOREM_BETAS[:2])
    unsolvable = [b for b in THEOREM_BETAS if rows[b]["solvable"] is False]
    verdict = "imprecise" if radicals_ok and unsolvable else "fails"
    summary = "; ".join(f"beta = {b}: {_instance_words(v)}" for b, v in rows.items())
    shown = tuple(f"beta = {b}: {_instance_words(v)}" for b, v in rows.items())
    c = inputs.coefficients
    return Step("theorem", "Theorem A.1: no general analytic solution", shown, None, verdict,
                f"Concrete instances (loss {num(inputs.loss)}, {num(inputs.inference_tokens)} inference tokens, "
                f"alpha, A, B, E of {c.name}){note}: {summary}.\n"
                "A general formula in radicals would specialise to the beta = 1/4 instance, whose Galois group is "
                "not solvable, so none exists: the claim holds when 'analytic' is read as 'in radicals'. "
                "Imprecise as written: (1) D* is an analytic function of D_inf and loss (implicit function theorem, "
                "g' != 0), and for rational beta the trinomial's root has hypergeometric-series forms, so 'no "
                "analytic solution' must mean 'no closed form in radicals'; (2) the paper asserts the "
                "impossibility ('not possible in general') without an argument; (3) for the paper's own beta = "
                "0.283 = 283/1000 the equation is a trinomial of degree 1283, whose solvability is not decided "
                "by the paper or here.", {"instances": rows})


# --- the whole walk ---------------------------------------------------------------------------
def make_inputs(coefficients: Coefficients | str | None = None, loss: float | None = None,
                inference_tokens: float | None = None) -> Inputs:
    """Inputs from a coefficient spec and optional loss and demand (defaults: the README example)."""
    coefficients = resolve(coefficients) if coefficients is not None else preset("chinchilla")
    return Inputs(coefficients, DEFAULT_LOSS if loss is None else float(loss),
                  DEFAULT_DEMAND if inference_tokens is None else float(inference_tokens))


def check_proof(coefficients: Coefficients | str | Inputs | None = None, loss: float | None = None,
                inference_tokens: float | None = None) -> ProofReport:
    """All steps of Appendix A in order, checked with the symbolic model and evaluated at the inputs."""
    inputs = coefficients if isinstance(coefficients, Inputs) else make_inputs(coefficients, loss, inference_tokens)
    return ProofReport(_steps(inputs), inputs)


@lru_cache(maxsize=1)
def _symbolic_steps() -> tuple[Step, ...]:
    """The steps that do not depend on the inputs (derived once)."""
    model = S.derive()
    return (step_objective(), *step_gradients(model), step_system(model), step_elimination(model),
            step_reduced(model), step_claim_a(), step_claim_c(), step_root(model), step_chinchilla_limit(model))


@lru_cache(maxsize=16)
def _steps(inputs: Inputs) -> tuple[Step, ...]:
    """The walk for one set of inputs (cached: the steps are the same objects on every call)."""
    from symscale.verify.proof_numbers import evaluate

    model = S.derive()
    fixed = {s.id: s for s in _symbolic_steps()}
    varying = {"numeric-form": step_numeric_form(inputs.coefficients), "minimum": step_minimum(model, inputs),
               "theorem": step_theorem(inputs)}
    steps = [fixed.get(key) or varying[key] for key in STEP_IDS]
    return tuple(replace(step, **evaluate(step, inputs)) for step in steps)


STEP_IDS = ("eq7", "eq8", "eq9", "eq10", "eq11", "eq12", "numeric-form", "claim-a", "claim-c", "root", "minimum",
            "chinchilla-limit", "theorem")


def normalise_step_id(key: str) -> str:
    """'11' or 'Eq11' -> 'eq11'; names pass through; unknown keys raise InputError."""
    from symscale.base.errors import InputError

    text = str(key).strip().lower().replace(" ", "").replace(".", "")
    if text.isdigit():
        text = f"eq{text}"
    if text not in STEP_IDS:
        raise InputError(f"unknown step {key!r}; steps are {', '.join(STEP_IDS)} (or 7-12 for the equations)")
    return text


def get_step(key: str, coefficients: Coefficients | str | Inputs | None = None, **inputs) -> Step:
    """One step by id or equation number."""
    wanted = normalise_step_id(key)
    return next(s for s in check_proof(coefficients, **inputs) if s.id == wanted)


WIDTH = 120
"""The widest line of the text report."""


def fit_width(text: str, width: int = WIDTH) -> str:
    """Lines longer than ``width`` wrapped at spaces, continuation lines indented 4 more than the line."""
    import textwrap

    out = []
    for line in text.splitlines():
        if len(line) <= width:
            out.append(line)
            continue
        lead = " " * (len(line) - len(line.lstrip()))
        glued = line.strip().replace(" = ", "\xa0=\xa0")  # keep 'name = value' on one line
        out += [part.replace("\xa0", " ") for part in textwrap.wrap(
            glued, width, initial_indent=lead, subsequent_indent=lead + "    ", break_on_hyphens=False)]
    return "\n".join(out)


def render(steps: list[Step], width: int = WIDTH) -> str:
    """The text report: the inputs, a verdict table, every step, and the counts (equal to the table's)."""
    report = steps if isinstance(steps, ProofReport) else ProofReport(steps)
    id_width = max(len(s.id) for s in report)
    title_width = max(len(s.title) for s in report)
    table = "\n".join(f"{s.id.ljust(id_width)}  {s.title.ljust(title_width)}  {s.verdict}" for s in report)
    head = [f"Inputs: {report.inputs.describe()}"] if report.inputs else []
    return fit_width("\n\n".join([*head, table, *map(str, report), report.summary()]), width)


def render_latex(steps: list[Step]) -> str:
    """Every step's LaTeX (math mode, one step a paragraph), the inputs and the counts as LaTeX comments."""
    report = steps if isinstance(steps, ProofReport) else ProofReport(steps)
    head = [f"% Inputs: {report.inputs.describe()}"] if report.inputs else []
    return "\n\n".join([*head, *(s.latex() for s in report), f"% {report.summary()}"])
