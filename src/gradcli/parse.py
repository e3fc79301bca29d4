"""Text -> validated expression tree, without ever running the text.

Why not ``ast.parse``: CPython's parser builds ``a + b + c + ...`` as a left-nested tree and
overflows its recursion limit at a few thousand terms (``RecursionError: maximum recursion
depth exceeded during ast construction`` for a 10,000-term sum), and sympy's ``parse_expr`` /
``sympify`` call ``eval``. So gradcli reads its own small grammar, a strict subset of Python's
expression syntax:

    expr   := term (("+" | "-") term)*          flat: one n-ary node per run of "+"
    term   := unary (("*" | "/") unary)*
    unary  := ("+" | "-") unary | power
    power  := atom (("**" | "^") unary)?        right-associative, as in Python; ^ means power
    atom   := NUMBER | NAME | NAME "(" expr ("," expr)* ")" | "(" expr ")"

Anything else (attribute access, subscripts, strings, comparisons, boolean and bitwise
operators, keyword arguments, lambdas, comprehensions, statements, dunder names) is refused with
a message that points at the offending character. Names are the op table's functions, the
constants ``pi`` and ``e``, or variables.
"""

from __future__ import annotations

import difflib
import keyword
import math
import re
from dataclasses import dataclass

from gradcli.engine import Value, apply
from gradcli.errors import DomainError, ParseError
from gradcli.expr import Expression, Node, clip, strip_brackets, variables
from gradcli.ops import CONSTANTS, FUNCTIONS

#: longest expression accepted (characters); the spec asks for at least 400,000
MAX_LENGTH = 500_000
#: deepest nesting of brackets, calls, unary signs and powers
MAX_DEPTH = 100

_KEYWORDS = frozenset(keyword.kwlist)

# What people type from other languages, with what gradcli calls it.
_ALIASES = {
    "ln": "log",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "absolute": "abs",
    "fabs": "abs",
    "logistic": "sigmoid",
    "expit": "sigmoid",
    "ReLU": "relu",
    "Abs": "abs",
    "exp2": "exp",
    "log10": "log",
    "log2": "log",
}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9][0-9_]*)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<bad>//|<<|>>|==|!=|<=|>=|:=|->|\.\.\.)
  | (?P<op>\*\*|[-+*/^(),])
  | (?P<bad1>.)
    """,
    re.VERBOSE | re.DOTALL,
)

_BAD = {
    "//": "floor division '//' is not supported; use '/'",
    "%": "'%' (modulo) is not supported",
    "@": "matrix multiplication '@' is not supported; use '*'",
    "<<": "bitwise shifts are not supported",
    ">>": "bitwise shifts are not supported",
    "&": "bitwise '&' is not supported",
    "|": "bitwise '|' is not supported",
    "~": "bitwise '~' is not supported",
    "==": "comparisons are not supported",
    "!=": "comparisons are not supported",
    "<=": "comparisons are not supported",
    ">=": "comparisons are not supported",
    "<": "comparisons are not supported",
    ">": "comparisons are not supported",
    "=": "'=' is not allowed: give values with --at (e.g. --at x=1), not in the expression",
    ":=": "assignment is not supported",
    ".": "attribute access is not allowed",
    "[": "subscripts and lists are not allowed",
    "]": "subscripts and lists are not allowed",
    "{": "braces are not allowed",
    "}": "braces are not allowed",
    "'": "strings are not allowed",
    '"': "strings are not allowed",
    ";": "only one expression is allowed (no ';')",
    ":": "':' is not allowed (no lambdas, slices or annotations)",
    "!": "'!' is not supported (no factorial or negation); use -x for negation",
    "#": "comments are not allowed",
    "\\": "backslashes are not allowed",
    "$": "'$' is not allowed",
    "?": "'?' is not allowed",
    "`": "backticks are not allowed",
    "->": "'->' is not allowed",
    "...": "'...' is not allowed",
}

_LOOKALIKES = {
    "−": "-",
    "–": "-",
    "×": "*",
    "·": "*",
    "÷": "/",
    "²": "**2",
    "³": "**3",
    "π": "pi",
}


@dataclass(frozen=True)
class Token:
    kind: str  # "num" | "name" | "op" | "end"
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        tok = m.group()
        pos = m.start()
        if kind == "ws":
            continue
        if kind in ("bad", "bad1"):
            # kept as a token: the parser reports it when it gets there, so that the first
            # problem from the left is the one reported
            tokens.append(Token("bad", tok, pos))
            continue
        if kind == "num":
            nxt = text[m.end() : m.end() + 1]
            if nxt in ("j", "J"):
                raise ParseError("complex numbers are not supported", text=text, pos=pos)
            if tok.endswith(("e", "E")) or re.search(r"[eE][+-]?$", tok):
                raise ParseError(f"malformed number {tok!r}", text=text, pos=pos)
        assert kind is not None
        tokens.append(Token(kind, tok, pos))
    tokens.append(Token("end", "", len(text)))
    return tokens


def _bad_char(text: str, tok: str, pos: int) -> ParseError:
    if tok in _LOOKALIKES:
        return ParseError(
            f"unexpected character {tok!r}",
            text=text,
            pos=pos,
            hint=f"write {_LOOKALIKES[tok]!r} instead",
        )
    if tok in _BAD:
        return ParseError(_BAD[tok], text=text, pos=pos)
    if not tok.isascii():
        return ParseError(
            f"unexpected character {tok!r} (U+{ord(tok):04X})",
            text=text,
            pos=pos,
            hint="expressions use ASCII: letters, digits, + - * / ** ^ ( ) ,",
        )
    return ParseError(f"unexpected character {tok!r}", text=text, pos=pos)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    # ---- helpers ---------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def error(self, message: str, pos: int | None = None, hint: str | None = None) -> ParseError:
        return ParseError(
            message, text=self.text, pos=self.tok.pos if pos is None else pos, hint=hint
        )

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(
                f"expression nested deeper than {MAX_DEPTH} levels",
                hint="simplify the brackets, signs or powers",
            )

    def expect(self, text: str) -> Token:
        tok = self.tok
        if tok.text != text or (tok.kind == "end" and text):
            found = "the end of the expression" if tok.kind == "end" else repr(tok.text)
            raise self.error(f"expected {text!r} but found {found}")
        self.i += 1
        return tok

    # ---- grammar -----------------------------------------------------------------------------
    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise ParseError("empty expression", hint='give one, e.g. "x**2 + 3*x"')
        node = self.expr()
        if self.tok.kind != "end":
            raise self.unexpected()
        return node

    def unexpected(self) -> ParseError:
        tok = self.tok
        prev = self.tokens[self.i - 1] if self.i else None
        if tok.kind == "bad":
            return _bad_char(self.text, tok.text, tok.pos)
        if tok.kind == "end":
            return self.error("the expression ends too early")
        if tok.text == ")":
            return self.error("unmatched ')'")
        if (
            prev is not None
            and (prev.kind in ("num", "name") or prev.text == ")")
            and (tok.kind in ("num", "name") or tok.text == "(")
        ):
            if tok.kind == "name" and tok.text in _KEYWORDS:
                return self.keyword(tok)
            hint = f"write {prev.text}*{tok.text} to multiply"
            touching = prev.pos + len(prev.text) == tok.pos
            if prev.kind == "num" and touching and tok.text[:1] in "eE":
                hint = f"for a power of ten write {prev.text}e-3 or {prev.text}e5; " + hint
            return self.error(f"missing operator between {prev.text!r} and {tok.text!r}", hint=hint)
        return self.error(f"unexpected {tok.text!r}")

    def keyword(self, tok: Token) -> ParseError:
        return ParseError(
            f"'{tok.text}' is a Python keyword; expressions are arithmetic only",
            text=self.text,
            pos=tok.pos,
        )

    def expr(self) -> Node:
        first = self.term()
        if self.tok.text not in ("+", "-"):
            return first
        # Runs of "+" become one n-ary add; "-" folds to the left, as Python reads it.
        node = first
        run: list[Node] = [first]
        while self.tok.text in ("+", "-"):
            sign = self.tok.text
            self.i += 1
            right = self.term()
            if sign == "+":
                run.append(right)
                continue
            node = self.flush(run)
            node = self.op("sub", (node, right))
            run = [node]
        return self.flush(run)

    def flush(self, run: list[Node]) -> Node:
        return run[0] if len(run) == 1 else self.op("add", tuple(run))

    def term(self) -> Node:
        node = self.unary()
        while self.tok.text in ("*", "/"):
            name = "mul" if self.tok.text == "*" else "div"
            self.i += 1
            node = self.op(name, (node, self.unary()))
        return node

    def unary(self) -> Node:
        tok = self.tok
        if tok.text == "+":
            self.i += 1
            self.enter()
            node = self.unary()
            self.depth -= 1
            return node
        if tok.text == "-":
            self.i += 1
            self.enter()
            operand = self.unary()
            self.depth -= 1
            if operand.kind == "num":  # -2 is a number, not neg(2)
                return self.number(
                    -(operand.const or 0.0), "-" + operand.name, tok.pos, operand.end
                )
            return self.op("neg", (operand,), span=(tok.pos, operand.end))
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        if self.tok.text not in ("**", "^"):
            return base
        self.i += 1
        self.enter()
        exponent = self.unary()
        self.depth -= 1
        if exponent.const is not None:
            expo_text = strip_brackets(self.text[exponent.start : exponent.end].strip())
            return self.op(
                "pow",
                (base,),
                (exponent.const,),
                (base.start, exponent.end),
                (expo_text,),
            )
        return self.op("powv", (base, exponent))

    def atom(self) -> Node:
        tok = self.tok
        if tok.kind == "num":
            self.i += 1
            return self.number(_number(tok, self.text), tok.text, tok.pos, tok.pos + len(tok.text))
        if tok.kind == "name":
            return self.name(tok)
        if tok.text == "(":
            self.i += 1
            self.enter()
            if self.tok.text == ")":
                raise self.error("empty brackets '()'")
            node = self.expr()
            self.depth -= 1
            if self.tok.text == ",":
                raise self.error("a tuple is not an expression (',' outside a function call)")
            close = self.expect(")") if self.tok.kind != "end" else None
            if close is None:
                raise self.error("missing ')'", pos=tok.pos, hint="this '(' is never closed")
            return self.wrap(node, tok.pos, close.pos + 1)
        if tok.kind == "end":
            raise self.error(
                "the expression ends too early", hint="an operand is missing at the end"
            )
        if tok.text in ("*", "/", "**", "^", ",", ")"):
            raise self.error(f"an operand is missing before {tok.text!r}")
        raise self.unexpected()

    def wrap(self, node: Node, start: int, end: int) -> Node:
        # the span of a bracketed expression includes its brackets
        node.start, node.end = start, end
        return node

    def name(self, tok: Token) -> Node:
        name = tok.text
        self.i += 1
        if name in _KEYWORDS:
            raise self.keyword(tok)
        if name.startswith("__"):
            raise ParseError(
                f"names starting with '__' are not allowed ({name!r})",
                text=self.text,
                pos=tok.pos,
            )
        is_call = self.tok.text == "("
        if name in FUNCTIONS:
            if not is_call:
                raise ParseError(
                    f"'{name}' is a function; call it with an argument, e.g. {name}(x)",
                    text=self.text,
                    pos=tok.pos,
                )
            return self.call(tok)
        if is_call:
            raise self.unknown_function(tok)
        if name in CONSTANTS:
            return Node(
                "const",
                name,
                start=tok.pos,
                end=tok.pos + len(name),
                const=CONSTANTS[name],
            )
        return Node("var", name, start=tok.pos, end=tok.pos + len(name))

    def unknown_function(self, tok: Token) -> ParseError:
        name = tok.text
        if name in CONSTANTS:
            return ParseError(
                f"'{name}' is a constant, not a function", text=self.text, pos=tok.pos
            )
        guess = _ALIASES.get(name) or next(
            iter(difflib.get_close_matches(name, list(FUNCTIONS), n=1, cutoff=0.6)),
            None,
        )
        hint = f"did you mean '{guess}'?" if guess else None
        if name in ("max", "min"):
            hint = (
                "max and min are not supported (no agreed derivative where the arguments tie); "
                "write max(a, b) as b + relu(a - b)"
            )
        elif guess is None:
            hint = f"for a product write {name}*(...); known functions: {', '.join(FUNCTIONS)}"
        return ParseError(f"unknown function '{name}'", text=self.text, pos=tok.pos, hint=hint)

    def call(self, tok: Token) -> Node:
        op = FUNCTIONS[tok.text]
        self.expect("(")
        self.enter()
        args: list[Node] = []
        if self.tok.text == ")":
            raise self.error(f"{op.name}() needs an argument")
        while True:
            if self.tok.kind == "name" and self.tokens[self.i + 1].text == "=":
                raise self.error(
                    f"keyword arguments are not allowed ({self.tok.text}=...)",
                    hint="pass arguments by position",
                )
            args.append(self.expr())
            if self.tok.text == ",":
                self.i += 1
                continue
            break
        self.depth -= 1
        if self.tok.kind == "end":
            raise self.error(
                "missing ')'",
                pos=tok.pos,
                hint=f"this call of {op.name} is never closed",
            )
        close = self.expect(")")
        want = op.call_arity
        if want >= 0 and len(args) != want:
            plural = "s" if want != 1 else ""
            raise ParseError(
                f"{op.name}() takes {want} argument{plural}, got {len(args)}",
                text=self.text,
                pos=tok.pos,
            )
        if len(args) < op.min_args:
            raise ParseError(
                f"{op.name}() needs at least {op.min_args} argument(s)",
                text=self.text,
                pos=tok.pos,
            )
        return self.op(op.name, tuple(args), span=(tok.pos, close.pos + 1))

    # ---- node construction -------------------------------------------------------------------
    def number(self, value: float, text: str, start: int, end: int) -> Node:
        return Node("num", text, start=start, end=end, const=value)

    def op(
        self,
        name: str,
        args: tuple[Node, ...],
        params: tuple[float, ...] = (),
        span: tuple[int, int] | None = None,
        param_text: tuple[str, ...] = (),
    ) -> Node:
        start, end = span or (args[0].start, args[-1].end)
        node = Node("op", name, args, params, start=start, end=end, param_text=param_text)
        if all(a.const is not None for a in args):
            node.const = self.fold(node)
        return node

    def fold(self, node: Node) -> float:
        """The value of a constant subexpression (through the engine, so through the op table);
        refuse it when it is not a finite number."""
        snippet = _snippet(self.text, node)
        try:
            value = apply(
                node.op,
                tuple(Value(a.const if a.const is not None else 0.0) for a in node.args),
                node.params,
            ).data
        except DomainError as exc:
            if not exc.overflow:
                raise ParseError(
                    f"the constant {snippet} is undefined: {exc.reason}",
                    text=self.text,
                    pos=node.start,
                ) from None
            value = math.inf
        if not math.isfinite(value):
            raise ParseError(
                f"the constant {snippet} is too large to be a finite number",
                text=self.text,
                pos=node.start,
            )
        return float(value)


def _snippet(text: str, node: Node, limit: int = 40) -> str:
    return clip(text[node.start : node.end].strip(), limit, "...")


def _number(tok: Token, text: str) -> float:
    raw = tok.text
    if "__" in raw or raw.endswith("_") or "_." in raw or "._" in raw:
        raise ParseError(f"malformed number {raw!r}", text=text, pos=tok.pos)
    try:
        if re.fullmatch(r"[\d_]+", raw):
            if len(raw) > 400:
                raise OverflowError
            value = float(int(raw))
        else:
            value = float(raw)
    except OverflowError:
        value = math.inf
    except ValueError:
        raise ParseError(f"malformed number {raw!r}", text=text, pos=tok.pos) from None
    if not math.isfinite(value):
        shown = raw if len(raw) <= 20 else raw[:17] + "..."
        raise ParseError(
            f"the number {shown} is too large to be finite (largest is about 1.8e308)",
            text=text,
            pos=tok.pos,
        )
    return value


def parse(text: str) -> Expression:
    """Parse ``text`` into an :class:`Expression`; raise :class:`ParseError` if it is not valid."""
    if len(text) > MAX_LENGTH:
        raise ParseError(
            f"expression is {len(text):,} characters long; the limit is {MAX_LENGTH:,}",
            hint="split it up, or check that the right file was given",
        )
    if "\x00" in text:
        raise ParseError("the expression contains a NUL byte", text=text, pos=text.index("\x00"))
    root = _Parser(text).parse()
    return Expression(text=text, root=root, variables=variables(root))


__all__ = ["MAX_DEPTH", "MAX_LENGTH", "parse", "tokenize"]
