"""Plain-words diagnosis: from the learner's numbers and the expected ones to a hint.

Pure functions, no processes: which rule is wrong, where, and what it should have been. A wrong
number is matched against a catalogue of the mistakes learners make (per op and per input: the
other input's value, out.data instead of self.data, a lost sign, a missing out.grad factor, a
``=`` where ``+=`` belongs, ...); the catalogue entry that reproduces the learner's number at
*every* point is the diagnosis. Finite differences are diagnosed by their order of convergence,
the exercise's gradient term by term, softmax and NLL by what their numbers are instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gradcli.learner.expected import close
from gradcli.learner.probes import UPSTREAM
from gradcli.learner.programs import FD_FORMULAS, FD_TEXT, REFLECTED_SYMBOL, Program


def num(x: float | None) -> str:
    """A number in a hint: short (6 digits), whole numbers as 2.0."""
    if x is None:
        return "None"
    if not math.isfinite(x):
        return str(x)
    r = round(x)
    if abs(x - r) <= 1e-9 * max(1.0, abs(x)) and abs(x) < 1e15:
        return f"{r:.1f}"
    return f"{x:.6g}"


def vs(want: float | None, got: float | None) -> str:
    """``want, got got`` for a message, each with as many digits as it takes to tell them
    apart: ``1.0000001, got 1.0000002``, never ``1.0, got 1.0``."""
    a, b = num(want), num(got)
    if want is None or got is None or want == got or not math.isfinite(want * got):
        return f"{a}, got {b}"
    digits = 7
    while a == b and digits <= 16:
        a, b = f"{want:.{digits}g}", f"{got:.{digits}g}"
        digits += 1
    if a == b:
        a, b = repr(float(want)), repr(float(got))
    return f"{a}, got {b}"


@dataclass(frozen=True)
class Cand:
    """One candidate for what the learner computed: its formula, its value, what it means."""

    text: str
    value: float
    why: str


@dataclass(frozen=True)
class Slot:
    """How one input (leaf) of a program enters its op: position (0 = u, 1 = v), its name, and
    whether the learner's method sees it as ``self`` or ``other``."""

    pos: int
    name: str
    role: str

    @property
    def partner(self) -> str:
        return "other" if self.role == "self" else "self"


def slots(prog: Program) -> list[Slot]:
    if prog.form == "vv" or prog.form == "sum":
        return [Slot(0, "a", "self"), Slot(1, "b", "other")]
    if prog.form == "cv":
        return [Slot(1, "a", "self")]
    return [Slot(0, "a", "self")]


def operands(prog: Program, point: Sequence[float]) -> tuple[float, float, tuple[str, str]]:
    """The op's inputs (u, v) at ``point`` (v is the exponent of a power), and their names."""
    c = prog.const if prog.const is not None else 0.0
    ctext = _const(c)
    if prog.form in ("vv", "sum"):
        return point[0], point[1], ("a", "b")
    if prog.form == "vc":
        return point[0], c, ("a", ctext)
    if prog.form == "cv":
        return c, point[0], (ctext, "a")
    return point[0], c, ("a", ctext)


def _const(c: float) -> str:
    return str(int(c)) if c == int(c) and abs(c) < 1e6 and "." not in repr(c)[:-2] else repr(c)


def rule_text(op: str, pos: int, names: tuple[str, str]) -> str:
    """The right local derivative, written in the program's names (the op table's rule text):
    ``b``, ``1/b``, ``2*a**1``."""
    from gradcli.ops import OPS

    if op == "pow":
        return OPS["pow"].rule_text(0, [names[0]], (names[1],))
    return OPS[op].rule_text(pos, list(names))


def _safe(fn: Callable[[], float]) -> float | None:
    try:
        x = fn()
    except (ArithmeticError, ValueError, TypeError):
        return None
    if isinstance(x, complex):
        return None
    return float(x)


def rule_candidates(
    op: str, slot: Slot, u: float, v: float, out: float, names: tuple[str, str]
) -> list[Cand]:
    """What a wrong local rule for ``op`` would give this input instead (one entry per mistake,
    always in the same order, so that entries can be matched across points)."""
    me, other = slot.role, slot.partner
    mine, theirs = (u, v) if slot.pos == 0 else (v, u)
    a, b = (names[0], names[1]) if slot.pos == 0 else (names[1], names[0])
    c: list[tuple[str, Callable[[], float], str]] = []
    if op == "mul":
        c = [
            (a, lambda: mine, f"the rule for mul uses {me}.data where it needs {other}.data"),
            (
                "out.data",
                lambda: out,
                f"the rule for mul uses out.data where it needs {other}.data",
            ),
            (
                "1",
                lambda: 1.0,
                "the rule for mul passes out.grad on unchanged, as add does; in a "
                "product each input's local derivative is the other input",
            ),
        ]
    elif op == "add":
        c = [
            ("0", lambda: 0.0, f"the rule for add never adds to {me}.grad"),
            ("2", lambda: 2.0, f"the rule for add adds out.grad to {me}.grad twice"),
            (
                b,
                lambda: theirs,
                f"the rule for add multiplies by {other}.data; an add passes out.grad on unchanged",
            ),
        ]
    elif op == "sub":
        if slot.pos == 1:
            c = [
                (
                    "1",
                    lambda: 1.0,
                    f"{me}.grad gains +out.grad where it needs -out.grad: in "
                    f"{names[0]} - {names[1]} the second input's local derivative is -1",
                ),
                ("0", lambda: 0.0, f"the rule for sub never adds to {me}.grad"),
            ]
        else:
            c = [
                (
                    "-1",
                    lambda: -1.0,
                    f"{me}.grad gains -out.grad where it needs +out.grad: in "
                    f"{names[0]} - {names[1]} the first input's local derivative is 1",
                ),
                ("0", lambda: 0.0, f"the rule for sub never adds to {me}.grad"),
            ]
    elif op == "div":
        if slot.pos == 0:
            c = [
                (
                    names[1],
                    lambda: v,
                    f"the rule for div multiplies by {other}.data where it must divide by it",
                ),
                (
                    f"-{names[0]}/{names[1]}**2",
                    lambda: -u / v**2,
                    "that is the rule for the "
                    "denominator; the numerator's local derivative is 1/denominator",
                ),
                (
                    "1",
                    lambda: 1.0,
                    "the rule for div passes out.grad on unchanged; the "
                    "numerator's local derivative is 1/denominator",
                ),
            ]
        else:
            c = [
                (
                    f"{names[0]}/{names[1]}**2",
                    lambda: u / v**2,
                    "the sign is lost: d(u/v)/dv = -u/v**2",
                ),
                (
                    f"-{names[0]}/{names[1]}",
                    lambda: -u / v,
                    "the square is missing: d(u/v)/dv = -u/v**2",
                ),
                (
                    f"-1/{names[1]}**2",
                    lambda: -1 / v**2,
                    "the numerator is missing: d(u/v)/dv = -u/v**2",
                ),
                (f"1/{names[0]}", lambda: 1 / u, "that is the numerator's rule upside down"),
            ]
    elif op == "neg":
        c = [
            ("1", lambda: 1.0, "the sign is lost: d(-a)/da = -1"),
            ("0", lambda: 0.0, "the rule for neg never adds to self.grad"),
        ]
    elif op == "pow":
        n = v
        nt, n1 = _const(n), _const(n - 1)
        c = [
            (
                f"{nt}*a**{nt}",
                lambda: n * u**n,
                f"the exponent is not lowered: n*a**(n-1) = {nt}*a**{n1}, not n*a**n",
            ),
            (f"a**{n1}", lambda: u ** (n - 1), "the factor n is missing: n*a**(n-1)"),
            (
                f"{_const(n - 1)}*a**{_const(n - 2)}",
                lambda: (n - 1) * u ** (n - 2),
                "both the factor and the exponent are one too low: n*a**(n-1)",
            ),
            (f"{nt}*a", lambda: n * u, "the power is lost: n*a**(n-1)"),
        ]
    elif op == "exp":
        c = [
            (
                "a",
                lambda: u,
                "the rule for exp uses self.data where it needs out.data: the "
                "derivative of exp(a) is exp(a) itself",
            ),
            (
                "1",
                lambda: 1.0,
                "the rule for exp passes out.grad on unchanged; it must multiply "
                "by exp(a) = out.data",
            ),
        ]
    elif op == "log":
        c = [
            (
                "log(a)",
                lambda: math.log(u),
                "the rule for log uses the value log(a); its derivative is 1/a",
            ),
            (
                "a",
                lambda: u,
                "the rule for log multiplies by self.data; it must divide by it "
                "(d log(a)/da = 1/a)",
            ),
            ("-1/a**2", lambda: -1 / u**2, "that is the derivative of 1/a, not of log(a)"),
            (
                "1/out.data",
                lambda: 1 / out,
                "the rule for log divides by out.data where it needs self.data: d log(a)/da = 1/a",
            ),
        ]
    elif op == "tanh":
        c = [
            (
                "1 - a**2",
                lambda: 1 - u * u,
                "the rule for tanh uses self.data where it needs "
                "out.data: 1 - t**2 with t = out.data",
            ),
            ("1 - out.data", lambda: 1 - out, "the square is missing: 1 - t**2 with t = out.data"),
            ("out.data**2", lambda: out * out, "it is the wrong way round: 1 - t**2, not t**2"),
            ("1 + out.data**2", lambda: 1 + out * out, "the sign is wrong: 1 - t**2, not 1 + t**2"),
        ]
    elif op == "sigmoid":
        c = [
            ("out.data", lambda: out, "the factor (1 - s) is missing: s*(1 - s) with s = out.data"),
            (
                "a*(1 - a)",
                lambda: u * (1 - u),
                "the rule for sigmoid uses self.data where it needs s = out.data: s*(1 - s)",
            ),
            ("1 - out.data", lambda: 1 - out, "the factor s is missing: s*(1 - s)"),
            ("out.data*(1 + out.data)", lambda: out * (1 + out), "the sign is wrong: s*(1 - s)"),
        ]
    elif op == "relu":
        c = [
            (
                "1",
                lambda: 1.0,
                "the rule for relu passes out.grad even where the input is "
                "negative; relu's derivative is 0 there (1 if out.data > 0 else 0)",
            ),
            (
                "a",
                lambda: u,
                "the rule for relu uses self.data where it needs the step "
                "(1 if out.data > 0 else 0)",
            ),
            (
                "0",
                lambda: 0.0,
                "the rule for relu never passes any gradient; it passes "
                "out.grad where the input is positive",
            ),
            (
                "out.data",
                lambda: out,
                "the rule for relu uses out.data, the value, where it "
                "needs the step (out.data > 0)",
            ),
        ]
    elif op == "sqrt":
        c = [
            (
                "0.5*out.data",
                lambda: 0.5 * out,
                "the rule for sqrt multiplies by sqrt(a) where it must divide: 0.5/sqrt(a)",
            ),
            ("1/out.data", lambda: 1 / out, "the factor 1/2 is missing: 0.5/sqrt(a)"),
            ("0.5/a", lambda: 0.5 / u, "the root is missing: 0.5/sqrt(a)"),
        ]
    elif op == "sin":
        c = [
            ("-cos(a)", lambda: -math.cos(u), "the sign is wrong: d sin(a)/da = cos(a)"),
            (
                "sin(a)",
                lambda: math.sin(u),
                "the rule for sin uses sin(a); its derivative is cos(a)",
            ),
            ("-sin(a)", lambda: -math.sin(u), "that is the derivative of cos, not of sin"),
        ]
    elif op == "cos":
        c = [
            ("sin(a)", lambda: math.sin(u), "the sign is wrong: d cos(a)/da = -sin(a)"),
            ("cos(a)", lambda: math.cos(u), "that is the derivative of sin, not of cos"),
            (
                "-cos(a)",
                lambda: -math.cos(u),
                "the rule for cos uses cos(a); its derivative is -sin(a)",
            ),
        ]
    out_c: list[Cand] = []
    for text, fn, why in c:
        val = _safe(fn)
        out_c.append(Cand(text, val if val is not None else math.nan, why))
    return out_c


def generic_candidates(want: float) -> list[Cand]:
    return [
        Cand("the negative", -want, "the sign is wrong"),
        Cand("twice it", 2 * want, "it is twice too large (added twice?)"),
        Cand("half of it", want / 2, "it is half the size it should be"),
    ]


def forward_candidates(op: str, u: float, v: float, names: tuple[str, str]) -> list[Cand]:
    """What a wrong forward pass of ``op`` would compute instead."""
    a, b = names
    c: list[tuple[str, Callable[[], float], str]] = []
    if op == "add":
        c = [(f"{a}*{b}", lambda: u * v, "__add__ multiplies")]
    elif op == "sub":
        c = [
            (f"{a} + {b}", lambda: u + v, "the minus sign is lost: a - b is a + (-b)"),
            (f"{b} - {a}", lambda: v - u, "the operands are swapped"),
        ]
    elif op == "mul":
        c = [(f"{a} + {b}", lambda: u + v, "__mul__ adds")]
    elif op == "div":
        c = [
            (f"{b}/{a}", lambda: v / u, "the operands are swapped"),
            (f"{a}*{b}", lambda: u * v, "it multiplies where it should divide (a * b**-1)"),
        ]
    elif op == "neg":
        c = [(a, lambda: u, "the sign is not flipped")]
    elif op == "pow":
        c = [
            (f"a*{b}", lambda: u * v, "it multiplies by the exponent instead of raising to it"),
            (f"{b}**a", lambda: v**u, "the base and the exponent are swapped"),
        ]
    elif op == "exp":
        c = [("a", lambda: u, "exp returns its input")]
    elif op == "log":
        c = [
            (
                "log10(a)",
                lambda: math.log10(u),
                "it takes log10 where the natural log is needed (math.log)",
            ),
            ("exp(a)", lambda: math.exp(u), "it computes exp, not log"),
        ]
    elif op == "sigmoid":
        c = [
            (
                "1/(1 + exp(a))",
                lambda: 1 / (1 + math.exp(u)),
                "it uses exp(a) where it needs exp(-a): 1/(1 + exp(-a))",
            )
        ]
    elif op == "relu":
        c = [("a", lambda: u, "negative inputs are not clamped to 0")]
    elif op == "tanh":
        c = [
            (
                "(exp(2a) + 1)/(exp(2a) - 1)",
                lambda: 1 / math.tanh(u),
                "the fraction is upside down: (exp(2a) - 1)/(exp(2a) + 1)",
            )
        ]
    out_c = []
    for text, fn, why in c:
        val = _safe(fn)
        out_c.append(Cand(text, val if val is not None else math.nan, why))
    return out_c


def match(
    got: Sequence[float | None], want: Sequence[float], cands: Sequence[Sequence[Cand]]
) -> int | None:
    """The index of the candidate that reproduces ``got`` at every point (and differs from
    ``want`` at one at least), or None."""
    if not cands:
        return None
    for k in range(len(cands[0])):
        values = [cs[k].value for cs in cands]
        if all(close(g, c, 1e-7, 1e-10) for g, c in zip(got, values)) and any(
            not close(c, w, 1e-7, 1e-10) for c, w in zip(values, want)
        ):
            return k
    return None


def first_bad(got: Sequence[float | None], want: Sequence[float]) -> int:
    for i, (g, w) in enumerate(zip(got, want)):
        if not close(g, w):
            return i
    return 0


def explain_full(
    check: str,
    rule: str,
    got: Sequence[float | None],
    want: Sequence[float],
    cands: Sequence[Sequence[Cand]],
) -> str:
    """The hint for a gradient through backward() (seed 1)."""
    i = first_bad(got, want)
    full = [[*cs, *generic_candidates(w)] for cs, w in zip(cands, want)]
    k = match(got, want, full)
    head = f"{check}: expected {eq(rule, want[i])}, got "
    gi = got[i]
    if k is not None and gi is not None:
        cand = full[i][k]
        if cand.text in ("the negative", "twice it", "half of it"):
            return f"{head}{num(got[i])}, {cand.text}: {cand.why}"
        return f"{head}{eq(cand.text, gi)}: {cand.why}"
    if all(close(g, 0.0) for g in got):
        return f"{head}0: the gradient never reaches this input"
    return f"{head}{num(got[i])}"


def eq(text: str, value: float) -> str:
    """``b = -3.0``; just ``2.0`` when the formula is a number."""
    try:
        float(text)
    except ValueError:
        return f"{text} = {num(value)}"
    return num(value)


def _paren(text: str) -> str:
    return f"({text})" if re.search(r"\s|(?<=.)[-+]", text) else text


def explain_local(
    check: str,
    name: str,
    rule: str,
    final: Sequence[float | None],
    pre: Sequence[float],
    want: Sequence[float],
    cands: Sequence[Sequence[Cand]],
    op: str,
    role: str,
) -> str:
    """The hint for one node's ``_backward`` run alone (out.grad = UPSTREAM, the input's grad
    non-zero before): the rule, the chain-rule factor, and ``+=`` are told apart."""
    G = UPSTREAM
    gains = [None if f is None else f - p for f, p in zip(final, pre)]
    i = first_bad(gains, [G * w for w in want])
    gi = gains[i]
    head = (
        f"{check}: {name}.grad should gain out.grad*{_paren(rule)} = {num(G * want[i])} "
        f"(out.grad = {num(G)}, {name}.grad was {num(pre[i])}), "
    )
    right = [Cand(rule, w, "") for w in want]
    pool = [[r, *cs, *generic_candidates(w)] for r, cs, w in zip(right, cands, want)]
    ways: list[tuple[str, Sequence[float | None], Callable[[float], float]]] = [
        ("scaled", gains, lambda c: G * c),
        ("unscaled", gains, lambda c: c),
        ("assigned", final, lambda c: G * c),
    ]
    for how, seen, f in ways:
        for k in range(len(pool[0])):
            values = [f(p[k].value) for p in pool]
            if how == "assigned":
                target = [p + G * w for p, w in zip(pre, want)]
            else:
                target = [G * w for w in want]
            if not all(close(s, c, 1e-7, 1e-10) for s, c in zip(seen, values)):
                continue
            if all(close(c, t, 1e-7, 1e-10) for c, t in zip(values, target)):
                continue  # that is the right answer, not a mistake
            cand = pool[i][k]
            why = cand.why
            if how == "unscaled":
                extra = (
                    f"{op}'s _backward does not multiply by out.grad (the chain rule: "
                    f"{name}.grad += {rule} * out.grad)"
                )
                why = extra if k == 0 else f"{why}; and it does not multiply by out.grad"
            elif how == "assigned":
                extra = (
                    f"{op}'s _backward assigns (=) to {role}.grad where it must add (+=): a "
                    "Value used twice would keep only the last contribution"
                )
                why = extra if k == 0 else f"{why}; and it assigns (=) where it must add (+=)"
            if how == "assigned":
                return f"{head}it was replaced by {num(final[i])}: {why}"
            shown = f"out.grad*{_paren(cand.text)}" if how == "scaled" else cand.text
            if cand.text in ("the negative", "twice it", "half of it"):
                shown = cand.text
            return f"{head}it gained {eq(shown, gi) if gi is not None else shown}: {why}"
    if all(close(g, 0.0) for g in gains):
        return (
            f"{head}it gained nothing: is out._backward set in {op}, and does it add to "
            f"{role}.grad?"
        )
    return f"{head}it gained {num(gi)}"


def explain_forward(
    check: str, got: Sequence[float | None], want: Sequence[float], cands: Sequence[Sequence[Cand]]
) -> str:
    i = first_bad(got, want)
    k = match(got, want, cands)
    head = f"{check}: expected {num(want[i])}, got "
    if k is not None:
        return f"{head}{cands[i][k].text} = {num(got[i])}: {cands[i][k].why}"
    return f"{head}{num(got[i])}"


# ---- exceptions --------------------------------------------------------------------------------

_UNSUPPORTED = re.compile(r"unsupported operand type\(s\) for ([^:]+): '(\w+)' and '(\w+)'")
_REFLECTED = {sym: method for method, sym in REFLECTED_SYMBOL.items()}


def where_text(err: dict[str, Any]) -> str:
    w = err.get("where")
    if not w:
        return ""
    fn = f" in {w['function']}" if w.get("function") and w["function"] != "<module>" else ""
    code = f": {w['code']}" if w.get("code") else ""
    return f" ({w['file']}, line {w['line']}{fn}{code})"


def todo_what(err: dict[str, Any]) -> str:
    """``gradf (gradient.py, line 28)``: what is still to write, and where."""
    w = err.get("where")
    if not w:
        return "the rest"
    fn = w.get("function") or ""
    who = f"{fn} " if fn and fn != "<module>" else ""
    return f"{who}({w['file']}, line {w['line']})"


def todo_text(err: dict[str, Any]) -> str:
    """``gradf (gradient.py, line 28) raises NotImplementedError``."""
    w = err.get("where")
    if not w:
        return "it raises NotImplementedError"
    fn = w.get("function") or ""
    who = f"{fn} " if fn and fn != "<module>" else ""
    return f"{who}({w['file']}, line {w['line']}) raises NotImplementedError"


def error_text(err: dict[str, Any]) -> str:
    """``raised TypeError: ... (value.py, line 12 in __mul__: out = ...)``."""
    kind = err.get("type", "Exception")
    if kind == "SystemExit":
        return f"your code called sys.exit({err.get('exit_code', '')}){where_text(err)}"
    msg = err.get("message", "")
    if err.get("ours"):  # gradcli's question about what came back, in words
        return f"gave back something gradcli cannot use: {msg}{where_text(err)}"
    return f"raised {kind}{': ' + msg if msg else ''}{where_text(err)}"


def exception_hint(err: dict[str, Any], context: str, prog: Program | None = None) -> str | None:
    """A hint for an exception the learner's code raised while running ``context``."""
    kind = err.get("type", "")
    msg = err.get("message", "")
    if kind == "AttributeError" and re.search(r"'(float|int)' object has no attribute", msg):
        return (
            f"{context}: a plain number reached code that expects a Value: wrap numbers "
            "first, as micrograd does: other = other if isinstance(other, Value) else "
            "Value(other)"
        )
    m = _UNSUPPORTED.search(msg)
    if kind == "TypeError" and m:
        sym, left, right = m.groups()
        sym = sym.strip()
        if left in ("int", "float") and sym in _REFLECTED:
            extra = " (sum() starts from 0, so sum([...]) needs it too)" if sym == "+" else ""
            return (
                f"{context}: {left} {sym} Value needs {_REFLECTED[sym]}: Python calls it when "
                f"the number is on the left{extra}"
            )
        if right in ("int", "float"):
            return f"{context}: Value {sym} number fails: wrap the number in a Value first"
    if kind == "RecursionError":
        if prog is not None and prog.form == "cv":
            name = prog.method or "the reflected operator"
            return (
                f"{context}: {name} calls itself: writing it with the number on the left "
                "(other * self) calls it again; write it with self on the left (self * other)"
            )
        return f"{context}: the recursion never ends"
    if kind == "SystemExit":
        return f"{context}: do not call sys.exit() in the code gradcli checks"
    if kind == "TypeError" and ("positional argument" in msg or "keyword argument" in msg):
        return f"{context}: {msg}: check the arguments it takes"
    if kind == "MemoryError":
        return f"{context}: it ran out of memory (a list that grows without end?)"
    if kind in ("OverflowError",) or "math range error" in msg:
        return f"{context}: a number got too large for a float"
    return None


# ---- finite differences ------------------------------------------------------------------------


def order(hs: Sequence[float], errors: Sequence[float]) -> float | None:
    """The order of convergence: the slope of log(error) against log(h), median of pairs."""
    slopes = []
    for (h1, e1), (h2, e2) in zip(zip(hs, errors), zip(hs[1:], errors[1:])):
        if e1 > 0 and e2 > 0:
            slopes.append(math.log(e1 / e2) / math.log(h1 / h2))
    if not slopes:
        return None
    slopes.sort()
    return slopes[len(slopes) // 2]


def fd_hint(
    fname: str,
    formula: str,
    got: Sequence[float],
    f: Callable[[float], float],
    x: float,
    hs: Sequence[float],
    exact: float,
) -> str:
    """Why the learner's difference function does not give ``formula``'s numbers."""
    want = [FD_FORMULAS[formula](f, x, h) for h in hs]
    for other, fn in FD_FORMULAS.items():
        if other == formula:
            continue
        theirs = [fn(f, x, h) for h in hs]
        if all(fd_close(g, t, f, x, h) for g, t, h in zip(got, theirs, hs)):
            if other == "symmetric with step h/2":
                return (
                    f"{fname} uses the wrong step: it computes {FD_TEXT[other]}, a symmetric "
                    f"difference with step h/2; the exercise's is {FD_TEXT[formula]}"
                )
            return (
                f"{fname} behaves like a {other} difference, not a {formula} one: it computes "
                f"{FD_TEXT[other]}; the exercise's is {FD_TEXT[formula]}"
            )
        for factor, how in ((2.0, "twice"), (0.5, "half")):
            if other != "symmetric with step h/2" and all(
                close(g, factor * t, 1e-6) for g, t in zip(got, theirs)
            ):
                return (
                    f"{fname} gives {how} the {other} difference {FD_TEXT[other]} at every h: "
                    f"check the denominator; the exercise's is {FD_TEXT[formula]}"
                )
    ratios = [g / w if w else math.nan for g, w in zip(got, want)]
    if all(close(r, 2.0, 1e-6) for r in ratios):
        return f"{fname} is off by a factor of 2 at every h: check the denominator" + (
            " 2h" if formula == "symmetric" else " h"
        )
    if all(close(r, 0.5, 1e-6) for r in ratios):
        return f"{fname} is half the expected value at every h: check the denominator" + (
            " (2h, not 4h)" if formula == "symmetric" else " (h, not 2h)"
        )
    if all(close(r, -1.0, 1e-6) for r in ratios):
        return f"{fname} has the wrong sign at every h: the difference is the wrong way round"
    if all(close(g, w * h, 1e-6) for g, w, h in zip(got, want, hs)):
        return f"{fname} does not divide by the step h"
    if all(close(g, got[0], 1e-12) for g in got):
        return (
            f"the result of {fname} does not change with h: is the argument h used (and not "
            "a fixed step or a global)?"
        )
    errors = [abs(g - exact) for g in got]
    p = order(hs, errors)
    expect = 2 if formula == "symmetric" else 1
    tail = f": expected {FD_TEXT[formula]}"
    if p is not None and round(p) != expect and 0.5 < p < 2.5:
        if round(p) == 1:
            return (
                f"{fname} converges at order 1 as h shrinks: this behaves like a forward "
                f"(one-sided) difference, not a symmetric one{tail}"
            )
        return (
            f"{fname} converges at order 2 as h shrinks: this behaves like a symmetric "
            f"difference, not a {formula} one{tail}"
        )
    if p is None or p < 0.5:
        return f"{fname} does not converge to f'(x) as h shrinks{tail}"
    i = next((k for k, (g, w) in enumerate(zip(got, want)) if not close(g, w, 1e-8)), 0)
    return f"{fname} at h = {hs[i]:g}: expected {vs(want[i], got[i])}{tail}"


def fd_close(got: float, want: float, f: Callable[[float], float], x: float, h: float) -> bool:
    """Equal up to the rounding an equivalent way of writing the formula can cause."""
    scale = abs(f(x + h)) + abs(f(x)) + abs(f(x - h))
    return abs(got - want) <= 8 * 2.2e-16 * scale / h + 1e-12 * abs(want)


# ---- the exercise's gradient, term by term -----------------------------------------------------

Term = tuple[str, Callable[[float, float, float], float], list[tuple[str, Callable[..., float]]]]


def _gradf_terms() -> list[list[Term]]:
    """Each partial derivative of f as its terms, each term with the mistakes people make."""
    s, c = math.sin, math.cos
    return [
        [  # df/da
            (
                "-3*a**2 (from -a**3)",
                lambda a, b, cc: -3 * a**2,
                [
                    ("3*a**2: the minus sign of -a**3 is lost", lambda a, b, cc: 3 * a**2),
                    ("-3*a**3: the exponent is not lowered", lambda a, b, cc: -3 * a**3),
                    ("-a**2: the factor 3 is missing", lambda a, b, cc: -(a**2)),
                ],
            ),
            (
                "-0.5*a**-0.5 (from -a**0.5)",
                lambda a, b, cc: -0.5 * a**-0.5,
                [
                    (
                        "+0.5*a**-0.5: the minus sign of -a**0.5 is lost",
                        lambda a, b, cc: 0.5 * a**-0.5,
                    ),
                    (
                        "-0.5*a**0.5: the exponent should be 0.5 - 1 = -0.5",
                        lambda a, b, cc: -0.5 * a**0.5,
                    ),
                    ("-a**-0.5: the factor 0.5 is missing", lambda a, b, cc: -(a**-0.5)),
                ],
            ),
        ],
        [  # df/db
            (
                "3*cos(3*b) (from sin(3*b))",
                lambda a, b, cc: 3 * c(3 * b),
                [
                    (
                        "cos(3*b): the chain rule's factor 3 (from the inner 3*b) is missing",
                        lambda a, b, cc: c(3 * b),
                    ),
                    (
                        "-3*cos(3*b): the sign is wrong (d sin = +cos)",
                        lambda a, b, cc: -3 * c(3 * b),
                    ),
                    ("3*cos(b): the inner argument should stay 3*b", lambda a, b, cc: 3 * c(b)),
                    ("cos(b): the chain rule is missing", lambda a, b, cc: c(b)),
                    ("-3*sin(3*b): that is the derivative of cos", lambda a, b, cc: -3 * s(3 * b)),
                ],
            ),
            (
                "2.5*b**1.5 (from b**2.5)",
                lambda a, b, cc: 2.5 * b**1.5,
                [
                    ("2.5*b**2.5: the exponent is not lowered", lambda a, b, cc: 2.5 * b**2.5),
                    ("b**1.5: the factor 2.5 is missing", lambda a, b, cc: b**1.5),
                ],
            ),
        ],
        [  # df/dc
            (
                "1/c**2 (from -1.0/c)",
                lambda a, b, cc: 1 / cc**2,
                [
                    (
                        "-1/c**2: the sign is wrong (d(-1/c)/dc = +1/c**2)",
                        lambda a, b, cc: -1 / cc**2,
                    ),
                    ("-1/c: the derivative of -1/c is 1/c**2", lambda a, b, cc: -1 / cc),
                    ("1/c: the square is missing", lambda a, b, cc: 1 / cc),
                    ("log(c): that is the integral of 1/c", lambda a, b, cc: math.log(abs(cc))),
                ],
            ),
        ],
    ]


GRADF_NAMES = ("df/da", "df/db", "df/dc")


def gradf_hint(
    k: int, points: Sequence[Sequence[float]], got: Sequence[float], want: Sequence[float]
) -> str:
    """Which term of df/d(a, b or c) is wrong, and how."""
    name = GRADF_NAMES[k]
    terms = _gradf_terms()[k]
    i = first_bad(got, want)
    head = f"gradf's {name}: expected {num(want[i])} at (a, b, c) = {tuple(points[i])}, got " + (
        f"{num(got[i])}"
    )

    def total(
        pt: Sequence[float], skip: int = -1, alt: Callable[..., float] | None = None
    ) -> float:
        out = 0.0
        for j, (_, fn, _mistakes) in enumerate(terms):
            if j == skip:
                out += alt(*pt) if alt is not None else 0.0
            else:
                out += fn(*pt)
        return out

    for j, (text, _fn, mistakes) in enumerate(terms):
        for desc, alt in mistakes:
            vals = [total(pt, j, alt) for pt in points]
            if all(close(g, v, 1e-7) for g, v in zip(got, vals)):
                return f"{head}: the term {text} is wrong; yours matches {desc}"
        if len(terms) > 1:
            vals = [total(pt, j) for pt in points]
            if all(close(g, v, 1e-7) for g, v in zip(got, vals)):
                return f"{head}: the term {text} is missing"
    if all(close(g, w, 1e-4) for g, w in zip(got, want)):
        return (
            f"{head}: close but not exact; is this a numerical estimate? The exercise asks "
            "for the derivative worked out by hand"
        )
    parts = " + ".join(t[0] for t in terms)
    return f"{head}: {name} = {parts}"


# ---- softmax and nll ---------------------------------------------------------------------------


def softmax_hint(
    shown: str, logits: Sequence[float], got: Sequence[float], want: Sequence[float]
) -> str:
    exps = [math.exp(x) for x in logits]
    total = sum(got)
    i = first_bad(got, want)
    head = f"softmax({shown})[{i}]: expected {vs(want[i], got[i])}"
    if all(close(g, e, 1e-7) for g, e in zip(got, exps)):
        return f"{head}: these are exp(x) without the division: divide each by their sum"
    s = sum(logits)
    if s and all(close(g, x / s, 1e-7) for g, x in zip(got, logits)):
        return f"{head}: it divides x by sum(x); softmax divides exp(x) by sum(exp(x))"
    neg = [math.exp(-x) for x in logits]
    if all(close(g, e / sum(neg), 1e-7) for g, e in zip(got, neg)):
        return f"{head}: this is softmax(-x): the sign of the logits is flipped"
    if not close(total, 1.0, 1e-9):
        return (
            f"{head}: the probabilities sum to {num(total)}, not 1: divide each exp(x_i) by "
            "the sum of all of them"
        )
    return head


def nll_hint(probs: Sequence[float], target: int, got: float, want: float) -> str:
    head = (
        f"nll(p, {target}) for p = {list(probs)}: expected -log(p[{target}]) = {num(want)}, "
        f"got {num(got)}"
    )
    p = probs[target]
    m = max(probs)
    lse = m + math.log(sum(math.exp(x - m) for x in probs))
    options = [
        (math.log(p), "the minus sign is missing: nll = -log(p[target])"),
        (-p, "it takes -p[target]; nll is -log(p[target])"),
        (
            lse - p,
            "it treats its input as logits (logsumexp(x) - x[target]); this exercise's "
            "nll takes probabilities: -log(probs[target])",
        ),
        (
            -math.log(probs[(target + 1) % len(probs)]) if len(probs) > 1 else math.nan,
            "it picks the wrong entry: use probs[target]",
        ),
        (
            -sum(math.log(q) for q in probs),
            "it sums -log over every class; only the target's counts",
        ),
        (
            -sum(math.log(q) for q in probs) / len(probs),
            "it averages -log over every class; only the target's counts",
        ),
    ]
    for value, why in options:
        if close(got, value, 1e-7):
            return f"{head}: {why}"
    return head
