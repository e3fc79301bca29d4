"""The parser: Python's precedence, flat sums, and everything it must refuse."""

from __future__ import annotations

import ast
import math
import operator
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli.errors import ParseError
from gradcli.expr import to_text
from gradcli.parse import MAX_DEPTH, MAX_LENGTH, parse


def _value(text: str) -> float:
    root = parse(text).root
    assert root.const is not None
    return root.const


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-2**2", -4.0),  # ** binds tighter than unary minus, as in Python
        ("2**-1", 0.5),
        ("2**3**2", 512.0),  # right-associative
        ("2^3^2", 512.0),  # ^ means power
        ("8/4/2", 1.0),  # left-associative
        ("10-4-3", 3.0),
        ("1 + 2*3", 7.0),
        ("(1 + 2)*3", 9.0),
        ("-(-3)", 3.0),
        ("+-+3", -3.0),
        ("1e3 + .5 + 5. + 1_000", 2005.5),
        ("pi", math.pi),
        ("e", math.e),
        ("logsumexp(0, 0)", math.log(2)),
    ],
)
def test_parse_precedence_matches_python(text: str, expected: float):
    assert _value(text) == pytest.approx(expected, rel=1e-15)


_atoms = st.sampled_from(["1", "2", "3.5", "0.25", "7"])


@st.composite
def _arith(draw, depth=0):
    if depth > 3 or draw(st.booleans()):
        return draw(_atoms)
    op = draw(st.sampled_from(["+", "-", "*", "/", "**"]))
    left = draw(_arith(depth + 1))
    right = draw(_arith(depth + 1)) if op != "**" else draw(st.sampled_from(["2", "0.5", "-1"]))
    wrap = draw(st.booleans())
    text = f"{left} {op} {right}"
    return f"({text})" if wrap else text


def _float_reference(text: str) -> tuple[float, float]:
    """The reference for the parser's constant folding: Python's own parser for precedence and
    associativity, evaluated in floats as gradcli folds constants, where a result too large for a
    float is inf (``2 ** 2 ** 2 ** 2 ** 2`` is a huge exact int in Python) and a tiny one
    underflows through the denormals to 0. Returns (value, the largest finite |intermediate|);
    NaN where a step is undefined. Test-side only: the strings come from the generator above."""
    binary = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}
    scale = 0.0

    def ev(node: ast.AST) -> float:
        nonlocal scale
        if isinstance(node, ast.Constant):
            out = float(node.value)
        elif isinstance(node, ast.UnaryOp):
            inner = ev(node.operand)
            out = -inner if isinstance(node.op, ast.USub) else inner
        elif isinstance(node, ast.BinOp):
            a, b = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Div):
                out = math.nan if b == 0 else a / b
            elif isinstance(node.op, ast.Pow):
                try:
                    out = math.pow(a, b)
                except OverflowError:
                    out = math.inf
                except ValueError:  # a negative base to a fractional power, 0 ** -1
                    out = math.nan
            else:
                out = binary[type(node.op)](a, b)
        else:
            raise AssertionError(f"unexpected node {node!r}")
        if math.isfinite(out):
            scale = max(scale, abs(out))
        return out

    value = ev(ast.parse(text, mode="eval").body)
    return value, scale


def _check_against_reference(text: str) -> None:
    expected, scale = _float_reference(text)
    try:
        got = _value(text)
    except ParseError:
        # refused only where floats cannot give a finite real number
        assert not math.isfinite(expected), (text, expected)
        return
    assert math.isfinite(expected), (text, got)
    # the parser may fold in another order (sums are flat): allow round-off on the largest
    # intermediate, not only on the result, since cancellation is real
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15 * scale + 1e-300), text


@pytest.mark.parametrize(
    ("text", "finite"),
    [
        ("2 ** 2 ** 2 ** 2 ** 2", False),  # 2**65536: exact in Python's ints, inf as a float
        ("(2 ** 2 ** 2 ** 2 ** 2) - (2 ** 2 ** 2 ** 2 ** 2)", False),  # 0 in ints, inf - inf
        ("7 ** 2 ** 2 ** 2 ** 2", False),
        ("0.25 ** 2 ** 2 ** 2 ** 2", True),  # underflows through the denormals to 0
        ("0.25 ** 2 ** 2 ** 2 * 7", True),  # 7 * 2**-32
        ("(2 ** 2 ** 2 ** 2) ** 2 ** 2 ** 2", True),  # 2**256: large, finite, exact
        ("1 / 0.25 ** 2 ** 2 ** 2 ** 2", False),
    ],
)
def test_parse_arithmetic_reference_handles_huge_and_tiny(text: str, finite: bool):
    # the cases that broke the reference (OverflowError on Python's exact ints), by name
    expected, _ = _float_reference(text)
    assert math.isfinite(expected) == finite
    _check_against_reference(text)


@settings(max_examples=200, deadline=None)
@given(_arith())
def test_parse_random_arithmetic_matches_python(text: str):
    _check_against_reference(text)


@pytest.mark.parametrize(
    "text",
    [
        "-a**3 + sin(3*b) - 1.0/c + b**2.5 - a**0.5",
        "(a - b) - (c - d)",
        "a/(b*c)",
        "a/b/c",
        "-(x + y)**2",
        "2**x * x**(1/3)",
        "logsumexp(a, b, c) - c",
        "(-2)**2 + a",
        "(-a)**2",
        "-a**2",
        "a**-b",
        "(a**b)**c",
        "a**b**c",
        "a - (b + c)",
        "-(-a)",
        "a*(b/c)",
    ],
)
def test_parse_round_trip_keeps_the_value(text: str):
    # to_text must put back every bracket that matters: the text it writes, parsed again,
    # is the same function (checked by value at a point where every grouping differs).
    from gradcli.evaluate import build

    point = {"a": 1.7, "b": 0.6, "c": 2.3, "d": -0.4, "x": 0.9, "y": 1.3}
    e1 = parse(text)
    e2 = parse(to_text(e1.root))
    p = {v: point[v] for v in e1.variables}
    assert build(e2, p).value == pytest.approx(build(e1, p).value, rel=1e-15)


def test_parse_sum_is_flat():
    root = parse(" + ".join(f"x{i}" for i in range(50_000))).root
    assert root.name == "add" and len(root.args) == 50_000


def test_parse_long_sum_beyond_ast_limits():
    text = "+".join(f"sin({k}*x)/{k}" for k in range(1, 20_001))
    e = parse(text)
    assert e.variables == ["x"]


def test_parse_variables_in_order_of_appearance():
    assert parse("z*y + x*z + sin(w)").variables == ["z", "y", "x", "w"]


def test_parse_constant_subexpression_becomes_pow_param():
    root = parse("x**(1/2)").root
    assert root.name == "pow" and root.params == (0.5,)
    root = parse("x**y").root
    assert root.name == "powv"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty expression"),
        ("   ", "empty expression"),
        ("x.real", "attribute access"),
        ("x[0]", "subscripts"),
        ("lambda: 1", "'lambda' is a Python keyword"),
        ("[x for x in y]", "subscripts and lists"),
        ("x for x in y", "'for' is a Python keyword"),
        ("'abc'", "strings are not allowed"),
        ('"abc"', "strings are not allowed"),
        ("x < 1", "comparisons"),
        ("x == 1", "comparisons"),
        ("x and y", "'and' is a Python keyword"),
        ("not x", "'not' is a Python keyword"),
        ("x & y", "bitwise"),
        ("x | y", "bitwise"),
        ("~x", "bitwise"),
        ("x << 2", "bitwise shifts"),
        ("x // 2", "floor division"),
        ("x % 2", "modulo"),
        ("sin(x=1)", "keyword arguments"),
        ("x = 1", "'=' is not allowed"),
        ("x; y", "only one expression is allowed here"),
        ("import os", "'import' is a Python keyword"),
        ("__import__", "names starting with '__'"),
        ("__class__", "names starting with '__'"),
        ("sinn(x)", "unknown function 'sinn'; did you mean 'sin'"),
        ("sinh(x", "missing ')'"),
        ("foo(x)", "unknown function 'foo'; 'gradcli ops' lists every function"),
        ("f(x)", "for a product write f*(...)"),
        ("exp2(x)", "write 2**u"),
        ("sec(x)", "write 1/cos(u)"),
        ("softmax(x, y)", "logsumexp(a, b, c) - c"),
        ("max(x)", "max() needs at least 2 arguments, got 1"),
        ("log(x, 2, 3)", "log() takes 1 or 2 arguments, got 3"),
        ("leaky_relu(x, y)", "the slope of leaky_relu() must be a constant"),
        ("clamp(x, 0)", "clamp() takes 3 arguments, got 2"),
        ("clamp(x, 1, 0)", "clamp needs lo <= hi"),
        ("x*1e-400", "underflows to 0"),
        ("x/1e-400", "underflows to 0"),
        ("sin(x, y)", "sin() takes 1 argument, got 2"),
        ("logsumexp()", "needs an argument"),
        ("sin", "'sin' is a function"),
        ("pi(2)", "'pi' is a constant"),
        ("9**9**9", "too large to be a finite number"),
        ("1e999", "too large to be finite"),
        ("10**400", "too large"),
        ("1" * 500, "too large to be finite"),
        ("log(0)", "undefined"),
        ("1/0", "division by zero"),
        ("(-8)**(1/3)", "fractional power of a negative"),
        ("2x", "missing operator between '2' and 'x'"),
        ("x y", "missing operator"),
        ("(x", "missing ')'"),
        ("x)", "unmatched ')'"),
        ("x +", "ends too early"),
        ("* x", "operand is missing"),
        ("()", "empty brackets"),
        ("(x, y)", "tuple"),
        ("1j", "complex numbers"),
        ("x − 1", "write '-' instead"),
        ("x\x00", "NUL"),
        ("x @ y", "matrix multiplication"),
        ("é", "U+00E9"),
        ("x + \u0661\u0662", "U+0661"),  # non-ASCII digits are not numbers
        ("x + 1e", "for a power of ten"),
    ],
)
def test_parse_refuses(text: str, message: str):
    with pytest.raises(ParseError) as info:
        parse(text)
    assert message in info.value.one_line()


def test_parse_error_points_at_the_problem():
    with pytest.raises(ParseError) as info:
        parse("x + sinn(y)")
    assert info.value.pos == 4
    assert info.value.detail is not None
    line, caret = info.value.detail.splitlines()
    assert line.index("sinn") == caret.index("^")


@pytest.mark.parametrize(
    "text",
    [
        "(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1),
        "-" * 100_000 + "x",
        "x" + "**x" * 100_000,
        "sin(" * 10_000 + "x" + ")" * 10_000,
        "(" * 200_000,
    ],
    ids=["brackets", "unary", "powers", "calls", "open-brackets"],
)
def test_parse_refuses_deep_nesting_quickly(text: str):
    t0 = time.perf_counter()
    with pytest.raises(ParseError, match="nested deeper"):
        parse(text)
    assert time.perf_counter() - t0 < 5  # a hang guard, not a benchmark


def test_parse_length_limit():
    # just under the limit parses: test_cli_stdin_length_limits runs that one end to end (the
    # 400,000-character sum once in the suite, not twice)
    assert len("+".join(["x"] * 200_000)) < MAX_LENGTH
    with pytest.raises(ParseError, match="limit"):
        parse("x+" * 500_000 + "x")


def test_parse_aliases_and_new_functions():
    # ln is log, swish is silu: one op each, whatever it is called
    assert parse("ln(x)").root.name == "log"
    assert parse("swish(x)").root.name == "silu"
    assert parse("log(x, 2)").root.name == "logb"
    root = parse("leaky_relu(x)").root
    assert root.name == "leaky_relu" and root.params == (0.01,)  # the table's default
    root = parse("leaky_relu(x, 0.2)").root
    assert root.params == (0.2,)
    root = parse("clamp(x, -1, 2*1)").root
    assert root.name == "clamp" and root.params == (-1.0, 2.0) and len(root.args) == 1
    assert parse("max(x, y, 3)").root.name == "max"
    assert parse("max(1, 2, 3)").root.const == 3.0


def test_parse_operator_precedence_comes_from_the_op_table():
    from gradcli.ops import INFIX, OPS, PREFIX

    # the parser's operators are the table's symbols, with the table's strengths
    assert INFIX["**"] == (OPS["pow"].prec, True) and INFIX["^"] == INFIX["**"]
    assert INFIX["+"][0] == OPS["add"].prec < INFIX["*"][0] == OPS["mul"].prec
    assert PREFIX["-"] is OPS["neg"] and INFIX["*"][0] < OPS["neg"].prec < INFIX["**"][0]


def test_parse_many_outputs_share_variables_and_point_into_the_text():
    from gradcli.parse import parse_many

    a, b = parse_many("x*y; x + y**2")
    assert a.variables == ["x", "y"] and b.variables == ["x", "y"]
    with pytest.raises(ParseError) as info:
        parse_many("x*y; x + sinn(y)")
    assert info.value.pos == len("x*y; x + ")
    with pytest.raises(ParseError, match="empty expression between"):
        parse_many("x;;y")
