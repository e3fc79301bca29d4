"""Text -> validated expression tree, without ever running the text.

Why not ``ast.parse``: CPython's parser builds ``a + b + c + ...`` as a left-nested tree and
overflows its recursion limit at a few thousand terms (``RecursionError: maximum recursion
depth exceeded during ast construction`` for a 10,000-term sum), and sympy's ``parse_expr`` /
``sympify`` call ``eval``. So gradcli reads its own small grammar, a strict subset of Python's
expression syntax, by precedence climbing over the op table's operators:

    expr   := prefix (INFIX expr)*        binding strength and associativity from the op table
    prefix := PREFIX prefix | atom        unary minus binds below ** and above *, as in Python
    atom   := NUMBER | NAME | NAME "(" expr ("," expr)* ")" | "(" expr ")"

A run of ``+`` becomes one n-ary node; ``^`` is ``**``. Anything else (attribute access,
subscripts, strings, comparisons, boolean and bitwise operators, keyword arguments, lambdas,
comprehensions, statements, dunder names) is refused with a message that points at the offending
character. Names are the op table's functions (and their aliases), the constants ``pi`` and
``e``, or variables. Constant folding is a pass over the finished tree (:func:`expr.fold`).
"""

from __future__ import annotations

import difflib
import keyword
import math
import re
from dataclasses import dataclass

from gradcli.errors import ParseError
from gradcli.expr import Expression, Node, fold, variables
from gradcli.ops import CONSTANTS, FUNCTIONS, HINTS, INFIX, PREFIX, infix_op, resolve_call

#: longest expression accepted (characters); the spec asks for at least 400,000
MAX_LENGTH = 500_000
#: deepest nesting of brackets, calls, unary signs and powers
MAX_DEPTH = 100

_KEYWORDS = frozenset(keyword.kwlist)

#: the operator tokens: the op table's symbols (longest first), brackets and commas
_OPERATORS = sorted({*INFIX, *PREFIX, "(", ")", ","}, key=len, reverse=True)

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9][0-9_]*)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<bad>//|<<|>>|==|!=|<=|>=|:=|->|\.\.\.)
  | (?P<op>"""
    + "|".join(re.escape(o) for o in _OPERATORS)
    + r""")
  | (?P<bad1>.)
    """,
    re.VERBOSE | re.DOTALL,
)

_BAD = {
    "//": "floor division '//' is not supported; use '/' (or floor(u/v))",
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
    ";": "only one expression is allowed here (';' separates outputs in grad and verify-torch)",
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
    kind: str  # "num" | "name" | "op" | "bad" | "end"
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

    def expr(self, min_prec: int = 0) -> Node:
        """Operands joined by infix operators at least as strong as ``min_prec``."""
        left = self.prefix()
        run: list[Node] = []  # the operands of an n-ary operator (a + b + c) being collected
        run_op = ""
        while True:
            tok = self.tok
            info = INFIX.get(tok.text) if tok.kind == "op" else None
            if info is None or info[0] < min_prec:
                break
            prec, right = info
            self.i += 1
            if right:
                self.enter()
            operand = self.expr(prec if right else prec + 1)
            if right:
                self.depth -= 1
            op = _INFIX_OPS[tok.text]
            if op.arity < 0:
                if run_op != op.name:
                    left = self.flush(run_op, run, left)
                    run, run_op = [left], op.name
                run.append(operand)
                continue
            left = self.node(op.name, (self.flush(run_op, run, left), operand))
            run, run_op = [], ""
        return self.flush(run_op, run, left)

    def flush(self, name: str, run: list[Node], left: Node) -> Node:
        """The n-ary node of a finished run (one node for a + b + c), or ``left``."""
        return self.node(name, tuple(run)) if len(run) > 1 else left

    def prefix(self) -> Node:
        tok = self.tok
        if tok.text == "+":
            self.i += 1
            self.enter()
            node = self.prefix()
            self.depth -= 1
            return node
        op = PREFIX.get(tok.text) if tok.kind == "op" else None
        if op is None:
            return self.atom()
        self.i += 1
        self.enter()
        operand = self.expr(op.prec)
        self.depth -= 1
        if operand.kind == "num" and op.name == "neg":  # -2 is a number, not neg(2)
            return self.number(-(operand.const or 0.0), "-" + operand.name, tok.pos, operand.end)
        return self.node(op.name, (operand,), span=(tok.pos, operand.end))

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
            node.start, node.end = tok.pos, close.pos + 1  # a bracketed span includes them
            return node
        if tok.kind == "end":
            raise self.error(
                "the expression ends too early", hint="an operand is missing at the end"
            )
        if tok.text in INFIX or tok.text in (",", ")"):
            raise self.error(f"an operand is missing before {tok.text!r}")
        raise self.unexpected()

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
            end = tok.pos + len(name)
            return Node("const", name, start=tok.pos, end=end, const=CONSTANTS[name])
        return Node("var", name, start=tok.pos, end=tok.pos + len(name))

    def unknown_function(self, tok: Token) -> ParseError:
        name = tok.text
        if name in CONSTANTS:
            return ParseError(
                f"'{name}' is a constant, not a function", text=self.text, pos=tok.pos
            )
        hint = HINTS.get(name)
        if hint is None:
            guess = next(
                iter(difflib.get_close_matches(name, list(FUNCTIONS), n=1, cutoff=0.8)), ""
            )
            if guess:
                hint = f"did you mean '{guess}'?"
            elif len(name) <= 2:
                hint = f"for a product write {name}*(...)"
            else:
                hint = "'gradcli ops' lists every function gradcli knows"
        return ParseError(f"unknown function '{name}'", text=self.text, pos=tok.pos, hint=hint)

    def call(self, tok: Token) -> Node:
        name = tok.text
        self.expect("(")
        self.enter()
        args: list[Node] = []
        if self.tok.text == ")":
            raise self.error(f"{name}() needs an argument")
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
                "missing ')'", pos=tok.pos, hint=f"this call of {name} is never closed"
            )
        close = self.expect(")")
        op = resolve_call(name, len(args))
        if op is None:
            raise ParseError(
                f"{name}() {_arguments_wanted(name)}, got {len(args)}", text=self.text, pos=tok.pos
            )
        return self.node(op.name, tuple(args), span=(tok.pos, close.pos + 1))

    # ---- node construction -------------------------------------------------------------------
    def number(self, value: float, text: str, start: int, end: int) -> Node:
        return Node("num", text, start=start, end=end, const=value)

    def node(self, name: str, args: tuple[Node, ...], span: tuple[int, int] | None = None) -> Node:
        start, end = span or (args[0].start, args[-1].end)
        return Node("op", name, args, start=start, end=end)


#: the op each infix symbol makes in the raw tree (``**`` is settled as pow or powv by fold)
_INFIX_OPS = {symbol: infix_op(symbol, constant_right=False) for symbol in INFIX}


def _arguments_wanted(name: str) -> str:
    """``takes 1 argument``, ``takes 1 or 2 arguments``, ``needs at least 2 arguments``."""
    counts: set[int] = set()
    least = None
    for op in FUNCTIONS[name]:
        if op.call_arity < 0:
            least = op.least_args if least is None else min(least, op.least_args)
        else:
            counts.update(range(op.least_args, op.call_arity + 1))
    if least is not None and not counts:
        return f"needs at least {least} argument{'s' if least != 1 else ''}"
    ordered = sorted(counts)
    text = (
        " or ".join(str(c) for c in ordered)
        if len(ordered) <= 3
        else f"{ordered[0]} to {ordered[-1]}"
    )
    return f"takes {text} argument{'s' if ordered != [1] else ''}"


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
    shown = raw if len(raw) <= 20 else raw[:17] + "..."
    if not math.isfinite(value):
        raise ParseError(
            f"the number {shown} is too large to be finite (largest is about 1.8e308)",
            text=text,
            pos=tok.pos,
        )
    if value == 0 and any(ch in "123456789" for ch in re.split("[eE]", raw)[0]):
        raise ParseError(
            f"the number {shown} underflows to 0 (the smallest float is about 5e-324)",
            text=text,
            pos=tok.pos,
            hint="write 0 if you mean 0",
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
    fold(root, text)
    return Expression(text=text, root=root, variables=variables(root))


def parse_many(text: str) -> list[Expression]:
    """Several expressions separated by ``;`` (the outputs of a Jacobian), each parsed alone.

    An error points into the whole text.
    """
    parts = text.split(";")
    if len(parts) == 1:
        return [parse(text)]
    pieces: list[Expression] = []
    start = 0
    for part in parts:
        try:
            if not part.strip():
                raise ParseError(
                    "an empty expression between ';'", text=part, pos=0, hint="remove the extra ';'"
                )
            pieces.append(parse(part))
        except ParseError as exc:
            pos = None if exc.pos is None else exc.pos + start
            raise ParseError(exc.message, text=text, pos=pos, hint=exc.hint) from None
        start += len(part) + 1
    return pieces


__all__ = ["MAX_DEPTH", "MAX_LENGTH", "parse", "parse_many", "tokenize"]
