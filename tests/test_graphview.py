"""The graph and backward-pass data behind `gradcli graph` and `gradcli explain`.

References: sympy (exact derivatives of the whole expression and of each rule as text), mpmath
at 50 digits (the value of every subexpression), and Graphviz's own parser for the DOT text.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess

import mpmath
import pytest
import sympy as sp

from gradcli import reference
from gradcli.evaluate import build
from gradcli.examples import EXAMPLE_EXPR, EXAMPLE_POINT
from gradcli.graphview import explain, graph_of, to_dot
from gradcli.ops import OPS
from gradcli.parse import parse
from gradcli.render.graph import tree_rows

# sympy names for the few gradcli functions sympy spells differently (test-side, by hand)
_SYMPY_LOCALS = {
    "sigmoid": lambda u: 1 / (1 + sp.exp(-u)),
    "relu": lambda u: sp.Max(0, u),
    "logsumexp": lambda *u: sp.log(sp.Add(*[sp.exp(x) for x in u])),
    "abs": sp.Abs,
}


_PHI = sp.Lambda(sp.Symbol("t"), sp.exp(-(sp.Symbol("t") ** 2) / 2) / sp.sqrt(2 * sp.pi))
_CDF = sp.Lambda(sp.Symbol("t"), (1 + sp.erf(sp.Symbol("t") / sp.sqrt(2))) / 2)
_SYMPY_LOCALS.update(
    softplus=lambda u: sp.log(1 + sp.exp(u)),
    sech=lambda u: 1 / sp.cosh(u),
    hypot=lambda a, b: sp.sqrt(a**2 + b**2),
    cbrt=lambda u: sp.sign(u) * sp.Abs(u) ** sp.Rational(1, 3),
)


def _sympy(text: str, names: list[str]) -> tuple[sp.Expr, dict[str, sp.Symbol]]:
    symbols = {n: sp.Symbol(n, real=True) for n in names}
    return sp.sympify(text.replace("^", "**"), locals={**_SYMPY_LOCALS, **symbols}), symbols


def _evaluate(text: str, point: dict[str, float]):
    return build(parse(text), point)


def _expression_for(name: str) -> str:
    """An expression that uses op ``name`` once, with x and y each used more than once, whose
    arguments take the op table's first smooth sample point at POINT."""
    op = OPS[name]
    sample = next(s for s in op.samples if op.kink is None or op.kink(*s) is None)
    k = len(sample) - len(op.params)
    args = [f"({a!r} + (x - 0.4) + 0.5*(y - 0.7))" for a in sample[:k]]
    params = [repr(p) for p in sample[k:]]
    if op.function:
        return f"{op.spelling}({', '.join(args + params)}) * x + y"
    if op.params:
        return f"{args[0]}{op.symbol}{params[0]} + y"
    if op.arity == 1:
        return f"{op.symbol}{args[0]} + y"
    return f" {op.symbol} ".join(args) + " + x*y"


POINT = {"x": 0.4, "y": 0.7}


# ---- the graph ----------------------------------------------------------------------------------


def test_graphview_is_the_expression_as_written_not_sympys_canonical_form():
    g = graph_of(_evaluate("x*x + x*x", {"x": 3.0}))
    assert sp.sympify("x*x + x*x") == sp.sympify("2*x**2")  # sympy would fold it to one term
    assert sorted(n.op for n in g.nodes if n.kind == "op") == ["add", "mul", "mul"]
    (x,) = [n for n in g.nodes if n.kind == "var"]
    assert x.label == "x" and x.grad == 12.0  # d(2x^2)/dx at 3, by hand
    muls = [n for n in g.nodes if n.op == "mul"]
    assert all(m.inputs == (x.id, x.id) for m in muls)  # one shared leaf, used four times
    assert g.uses()[x.id] == 4


def test_graphview_ids_are_deterministic_and_shared_by_graph_and_explain():
    first = graph_of(_evaluate(EXAMPLE_EXPR, EXAMPLE_POINT))
    second = graph_of(_evaluate(EXAMPLE_EXPR, EXAMPLE_POINT))
    assert first.to_json() == second.to_json()
    ids = [n.id for n in first.nodes]
    assert ids == [f"n{i}" for i in range(len(ids))]
    assert first.output == ids[-1]
    ex = explain(_evaluate(EXAMPLE_EXPR, EXAMPLE_POINT))
    for step in ex.steps:
        node = first.node(step.node)
        assert node.op == step.op
        assert tuple(i.node for i in step.inputs) == node.inputs
        assert step.upstream == node.grad


def test_graphview_builtin_example_every_node_matches_mpmath():
    ev = _evaluate(EXAMPLE_EXPR, EXAMPLE_POINT)
    g = graph_of(ev)
    order = ev.output.topo()
    assert [n.label for n in g.nodes if n.kind == "var"] == ["a", "b", "c"]
    assert {n.label for n in g.nodes if n.kind == "const"} == {"3", "1.0"}
    pows = sorted(n.label for n in g.nodes if n.op == "pow")
    assert pows == ["**0.5", "**2.5", "**3"]
    expr, symbols = _sympy(EXAMPLE_EXPR, ["a", "b", "c"])
    subs = {symbols[k]: v for k, v in EXAMPLE_POINT.items()}
    with mpmath.workdps(50):
        for value, node in zip(order, g.nodes):
            tree = ev.nodes[id(value)]
            exact = _sympy(ev.expression.text_of(tree), ["a", "b", "c"])[0]
            assert node.data == pytest.approx(float(exact.evalf(50, subs=subs)), rel=1e-14)
    for name, sym in symbols.items():
        leaf = next(n for n in g.nodes if n.label == name)
        exact = float(sp.diff(expr, sym).evalf(50, subs=subs))
        assert leaf.grad == pytest.approx(exact, rel=1e-14)


def test_graphview_gradient_of_each_intermediate_node_by_hand():
    # d f / d node for the example at a=2, b=3, c=4, derived by hand
    g = graph_of(_evaluate(EXAMPLE_EXPR, EXAMPLE_POINT))
    grads = {n.text: n.grad for n in g.nodes}
    assert grads["a**3"] == -1.0
    assert grads["a**0.5"] == -1.0
    assert grads["b**2.5"] == 1.0
    assert grads["1.0/c"] == -1.0
    assert grads["3*b"] == pytest.approx(math.cos(9.0), rel=1e-15)
    assert grads["3"] == pytest.approx(3.0 * math.cos(9.0), rel=1e-15)  # d/d(3) of sin(3*b)
    assert grads["1.0"] == pytest.approx(-0.25)  # d/d(1.0) of -1.0/c


# ---- the backward pass --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(OPS), ids=list(OPS))
def test_graphview_contributions_sum_to_each_gradient(name):
    text = _expression_for(name)
    ev = _evaluate(text, POINT)
    ex = explain(ev)
    assert any(s.op == name for s in ex.steps), text
    totals: dict[str, list[float]] = {}
    last: dict[str, float] = {}
    for step in ex.steps:
        for inp in step.inputs:
            assert inp.contribution == step.upstream * inp.local
            totals.setdefault(inp.node, []).append(inp.contribution)
            last[inp.node] = inp.accumulated
    for node in ex.graph.nodes:
        if node.id in last:
            # the running sum ends on the node's gradient, exactly (same order as the engine)
            assert last[node.id] == node.grad
            assert math.fsum(totals[node.id]) == pytest.approx(node.grad, rel=1e-12, abs=1e-15)
    exact = reference.exact_gradient(parse(text), POINT)
    for var, grad in ex.gradient.items():
        assert grad == pytest.approx(float(exact[var]), rel=1e-12, abs=1e-15)


FORMULA_RULES = [n for n, op in OPS.items() if op.arity > 0 and " if " not in "".join(op.rule)]


@pytest.mark.parametrize("name", FORMULA_RULES, ids=str)
def test_graphview_rule_text_gives_the_local_derivative(name):
    # the rule shown for each input, read by sympy, evaluated at the inputs, is the local number
    ev = _evaluate(_expression_for(name), POINT)
    ex = explain(ev)
    u, v = sp.symbols("u v", real=True)
    for step in ex.steps:
        if step.op != name:
            continue
        values = [ex.graph.node(i.node).data for i in step.inputs]
        env = {u: values[0], v: values[1] if len(values) > 1 else 0.0}
        for inp in step.inputs:
            text = inp.rule.replace("|u|", "Abs(u)")
            rule = sp.sympify(
                text,
                locals={"u": u, "v": v, **_SYMPY_LOCALS, "sign": sp.sign, "phi": _PHI, "Phi": _CDF},
            )
            assert float(rule.evalf(30, subs=env)) == pytest.approx(inp.local, rel=1e-12)
            assert inp.derivative.endswith(f"= {inp.rule}")


def test_graphview_shared_variable_accumulates_in_order():
    ex = explain(_evaluate("x*x + sin(x)", {"x": 2.0}))
    rows = [i for s in ex.steps for i in s.inputs if i.node == "n0"]
    assert [r.use for r in rows] == [1, 2, 3] and all(r.uses == 3 for r in rows)
    # by hand: d/dx = cos(2) from sin, then 2 and 2 from x*x
    assert [r.contribution for r in rows] == pytest.approx([math.cos(2.0), 2.0, 2.0], rel=1e-15)
    assert rows[-1].accumulated == pytest.approx(4.0 + math.cos(2.0), rel=1e-15)
    assert ex.gradient == {"x": rows[-1].accumulated}


# ---- DOT ----------------------------------------------------------------------------------------


def test_graphview_dot_has_a_record_per_value_and_a_node_per_op():
    g = graph_of(_evaluate(EXAMPLE_EXPR, EXAMPLE_POINT))
    dot = to_dot(g)
    assert dot.startswith("digraph") and "shape=record" in dot
    ops = [n for n in g.nodes if n.kind == "op"]
    assert dot.count("shape=ellipse") == len(ops)
    assert dot.count(" -> ") == sum(len(n.inputs) for n in ops) + len(ops)
    assert '"{ n0: a | data 2 | grad -12.3536 }"' in dot
    assert 'n3_op [label="**3", shape=ellipse]' in dot


def test_graphview_dot_deep_graphs_go_top_to_bottom_and_labels_are_cut():
    from gradcli.graphview import DOT_LABEL, depth

    g = graph_of(_evaluate(EXAMPLE_EXPR, EXAMPLE_POINT))
    # by hand: a -> a**3 -> neg -> + sin(3*b) -> - 1.0/c -> + b**2.5 -> - a**0.5: six levels
    assert depth(g) == 6
    dot = to_dot(g)
    assert "rankdir=TB" in dot  # 6 levels left to right made a 5526 px wide PNG
    heads = re.findall(r'label="\{ (n\d+: .*?) \| data', dot)
    assert len(heads) == len(g.nodes)
    assert max(len(h.split(": ", 1)[1]) for h in heads) <= DOT_LABEL
    out = g.node(g.output)
    assert f'tooltip="{out.text}"' in dot  # the whole text is still there, as a tooltip
    shallow = to_dot(graph_of(_evaluate("tanh(w*x + b)", {"w": 0.5, "x": 2.0, "b": -1.0})))
    assert "rankdir=LR" in shallow and "tooltip" not in shallow  # micrograd's draw_dot layout


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graphview_dot_is_accepted_by_graphviz():
    for text, point in [(EXAMPLE_EXPR, EXAMPLE_POINT), ("logsumexp(x, y, x*y)", POINT)]:
        dot = to_dot(graph_of(_evaluate(text, point)))
        p = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        assert "<svg" in p.stdout and not p.stderr.strip(), p.stderr


# ---- large graphs -------------------------------------------------------------------------------


def test_graphview_tree_view_is_bounded_and_complete_when_unbounded():
    g = graph_of(_evaluate("x" + " - x" * 10_000, {"x": 1.0}))
    assert len(g.nodes) == 10_001
    view = tree_rows(g, max_rows=60)
    assert len(view.rows) == 60 and not view.complete
    assert max(len(r.prefix) for r in view.rows) <= 3 * 10
    full = tree_rows(g, max_rows=0)
    assert full.complete and full.shown == len(g.nodes)
    listed = [r.node.id for r in full.rows if r.mark in ("", "cut")]
    assert sorted(listed) == sorted(n.id for n in g.nodes)  # each node in full exactly once
    # every edge is on a row: one row per input occurrence, plus the output and each continuation
    conts = sum(1 for r in full.rows if r.mark == "cont")
    assert len(full.rows) == sum(len(n.inputs) for n in g.nodes) + 1 + conts


# ---- large n-ary nodes --------------------------------------------------------------------------


def test_graphview_explain_of_a_5000_term_sum_is_linear_and_adds_up(cli):
    import signal

    def hang(signum, frame):
        pytest.fail("explain of a 5,000-term sum took more than 20 s (quadratic again?)")

    n = 5_000
    text = "+".join(f"sin(x*{i})" for i in range(1, n + 1))
    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(20)
    try:
        r = cli("explain", "-", "--at", "x=0.5", "--json", stdin=text)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert r.code == 0, r.stderr
    data = r.json()
    x = "n0"  # ids follow creation order: the first leaf, x, is n0 (as in the test above)
    contributions = [
        i["contribution"] for s in data["steps"] for i in s["inputs"] if i["node"] == x
    ]
    assert len(contributions) == n
    # d/dx of sum sin(i x) = sum i cos(i x), by mpmath at 30 digits
    with mpmath.workdps(30):
        exact = float(mpmath.fsum(i * mpmath.cos(i * mpmath.mpf("0.5")) for i in range(1, n + 1)))
    assert math.fsum(contributions) == pytest.approx(exact, rel=1e-9)
    assert data["gradient"]["x"] == pytest.approx(exact, rel=1e-9)


def test_graphview_long_sum_rule_is_written_with_an_ellipsis():
    ex = explain(_evaluate("x + 2*x + 3*x + 4*x + 5*x", {"x": 1.0}))
    add = next(s for s in ex.steps if s.op == "add")
    assert len(add.inputs) == 5
    assert [i.derivative for i in add.inputs] == [
        f"d(u_1 + u_2 + ... + u_n)/du_{k} = 1" for k in range(1, 6)
    ]
    ex = explain(_evaluate("x + 2*x + 3*x + 4*x", {"x": 1.0}))
    add = next(s for s in ex.steps if s.op == "add")
    assert add.inputs[3].derivative == "d(u_1 + u_2 + u_3 + u_4)/du_4 = 1"
