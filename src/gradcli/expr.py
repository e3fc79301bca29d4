"""The validated expression tree that every command works from.

The parser (:mod:`gradcli.parse`) turns text into a tree of :class:`Node`; from that one tree
gradcli builds the Value graph (as the user wrote it: ``x*x + x*x`` stays two products and a
sum), the sympy expression (for symbolic derivatives), the vectorised numeric function and the
torch graph. Nothing downstream looks at the text again.

Trees can be deep (``a - b - c - ...`` folds to the left), so every walk here is iterative.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

from gradcli.errors import DomainError, ParseError
from gradcli.ops import OPS, Op

T = TypeVar("T")


@dataclass(eq=False)
class Node:
    """One node: a number, a named constant, a variable, or an op applied to args.

    ``params`` holds the constant arguments of ops that take them (the n of ``u**n``).
    ``start``/``end`` is the span of the source text this node came from.
    ``const`` is the node's float value when it does not depend on any variable.
    """

    kind: str  # "num" | "const" | "var" | "op"
    name: str = ""  # op name, variable or constant name, or the literal's text
    args: tuple[Node, ...] = ()
    params: tuple[float, ...] = ()
    start: int = 0
    end: int = 0
    const: float | None = None
    # the params as written ("2", "0.5", "1/3"), for showing the tree back to the user
    param_text: tuple[str, ...] = field(default=())

    @property
    def op(self) -> Op:
        return OPS[self.name]


def walk(root: Node, visit: Callable[[Node, list[T]], T]) -> T:
    """Post-order fold without recursion: ``visit(node, results_of_its_args)``.

    A node reached twice (the same object shared) is visited once; its result is reused.
    """
    done: dict[int, T] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if key in done:
            continue
        if expanded or not node.args:
            done[key] = visit(node, [done[id(a)] for a in node.args])
        else:
            stack.append((node, True))
            stack.extend((a, False) for a in reversed(node.args) if id(a) not in done)
    return done[id(root)]


def iter_nodes(root: Node) -> Iterator[Node]:
    """Every node once, children before parents."""
    out: list[Node] = []
    walk(root, lambda n, _: out.append(n))
    return iter(out)


def variables(root: Node) -> list[str]:
    """Variable names in order of first appearance (left to right)."""
    seen: dict[str, None] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if node.kind == "var":
            seen.setdefault(node.name, None)
        stack.extend(reversed(node.args))
    return list(seen)


@dataclass
class Expression:
    """A parsed expression: the source text, its tree and its variables."""

    text: str  # as given (node spans index into it)
    root: Node
    variables: list[str]

    @cached_property
    def nodes(self) -> list[Node]:
        """Every tree node once, inputs before the nodes that use them (computed once)."""
        return list(iter_nodes(self.root))

    @property
    def size(self) -> int:
        """Number of tree nodes."""
        return len(self.nodes)

    def text_of(self, node: Node) -> str:
        """The source text a node came from."""
        return self.text[node.start : node.end].strip()

    @property
    def display(self) -> str:
        return " ".join(self.text.split())

    @property
    def is_constant(self) -> bool:
        return not self.variables


def to_text(root: Node) -> str:
    """The expression as text, in gradcli's own syntax (what ``parse`` reads back).

    Brackets are put back only where the op table's binding strengths (``Op.prec``) need them.
    """
    neg = OPS["neg"].prec

    def visit(node: Node, args: list[tuple[str, int]]) -> tuple[str, int]:
        if node.kind != "op":
            # a negative literal binds like unary minus: (-2)**2 must keep its brackets
            return node.name, neg if node.name.startswith("-") else 9
        op = node.op
        prec = op.prec
        if not op.symbol:
            shown = node.param_text or tuple(f"{p!r}" for p in node.params)
            inner = ", ".join([*(a for a, _ in args), *shown])
            return f"{op.spelling}({inner})", 9
        if len(args) == 1 and not op.params:  # prefix: -u
            a, p = args[0]
            return op.symbol + (a if p > prec else f"({a})"), prec
        if op.symbol == "**":  # right-associative: the base needs brackets at equal strength
            base = args[0][0] if args[0][1] > prec else f"({args[0][0]})"
            if op.params:
                expo = node.param_text[0] if node.param_text else f"{node.params[0]:g}"
                if not _is_plain_number(expo):
                    expo = f"({expo})"
            else:
                expo = args[1][0] if args[1][1] >= prec else f"({args[1][0]})"
            return f"{base}**{expo}", prec
        parts = []
        for i, (a, p) in enumerate(args):
            # left-associative: a right operand of equal strength needs brackets after - and /
            need = p < prec or (i > 0 and p == prec and op.arity == 2 and op.name != "mul")
            parts.append(f"({a})" if need else a)
        return f" {op.symbol} ".join(parts), prec

    return walk(root, visit)[0]


# ---- constant folding: a pass over the parsed tree ----------------------------------------------


def fold(root: Node, text: str) -> None:
    """Settle what depends on constants, in place, children before parents:

    * ``u ** c`` with a constant exponent becomes ``pow`` with the parameter n = c (its
      derivative is n*u**(n-1)); a varying exponent stays ``powv``;
    * the constant parameters of a call (leaky_relu's slope, clamp's bounds) move from the
      arguments into ``params``, with the op's defaults for those left out;
    * every subexpression without variables gets its value (``const``), computed through the
      engine (so through the op table), and is refused when it is undefined or not finite.

    ``text`` is the source, for the messages.
    """
    from gradcli.engine import Value, apply

    def visit(node: Node, _: list[None]) -> None:
        if node.kind != "op":
            return
        if node.name == "powv" and node.args[1].const is not None:
            exponent = node.args[1]
            node.name = "pow"
            node.params = (exponent.const,)  # type: ignore[assignment]
            node.param_text = (strip_brackets(text[exponent.start : exponent.end].strip()),)
            node.args = node.args[:1]
        op = node.op
        if op.params and op.arity >= 0 and len(node.args) > op.arity:
            given = node.args[op.arity :]
            for name, arg in zip(op.params, given):
                if arg.const is None:
                    raise ParseError(
                        f"the {name} of {op.spelling}() must be a constant",
                        text=text,
                        pos=arg.start,
                        hint=f"{op.form()}: only the first argument is differentiated",
                    )
            missing = len(op.params) - len(given)
            values = tuple(float(a.const or 0.0) for a in given)
            node.params = values + op.defaults[len(op.defaults) - missing :]
            node.param_text = tuple(_span(text, a) for a in given)
            node.args = node.args[: op.arity]
        elif op.params and not node.params:
            node.params = op.defaults
        if op.params_check is not None:
            reason = op.params_check(*node.params)
            if reason:
                raise ParseError(reason, text=text, pos=node.start)
        if all(a.const is not None for a in node.args):
            node.const = _fold_value(node, text, Value, apply)

    walk(root, visit)


def _span(text: str, node: Node) -> str:
    return strip_brackets(text[node.start : node.end].strip())


def _fold_value(node: Node, text: str, value: type, apply: Callable[..., object]) -> float:
    """The value of a constant subexpression, or a ParseError that says why there is none."""
    snippet = clip(_span(text, node), 40, "...")
    try:
        out = apply(node.op, tuple(value(a.const) for a in node.args), node.params).data  # type: ignore[attr-defined]
    except DomainError as exc:
        if not exc.overflow:
            raise ParseError(
                f"the constant {snippet} is undefined: {exc.reason}", text=text, pos=node.start
            ) from None
        out = math.inf
    if not math.isfinite(out):
        raise ParseError(
            f"the constant {snippet} is too large to be a finite number", text=text, pos=node.start
        )
    return float(out)


def _is_plain_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return not text.startswith("-")


def strip_brackets(text: str) -> str:
    """``(x - 1)`` -> ``x - 1``; ``(a)*(b)`` is left alone (its outer brackets do not pair)."""
    while text.startswith("(") and text.endswith(")"):
        depth = 0
        for i, ch in enumerate(text):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and i < len(text) - 1:
                return text
        text = text[1:-1].strip()
    return text


def clip(text: str, limit: int, mark: str = "…") -> str:
    """``text`` cut to at most ``limit`` characters, ending in ``mark`` when it was cut."""
    return text if len(text) <= limit else text[: limit - len(mark)] + mark
