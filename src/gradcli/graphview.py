"""The computation graph and the backward pass, as data: what ``gradcli graph`` and
``gradcli explain`` show.

Everything here reads the Value graph that :func:`gradcli.evaluate.build` made from the validated
tree, so the graph is the expression as the user wrote it (``x*x + x*x`` is two products and a
sum; nothing is simplified). Variables are shared leaves: a variable used twice is one node with
two outgoing edges, and the backward pass accumulates into it twice.

Node ids are deterministic: ``n0, n1, ...`` in creation order (inputs before outputs, the order
of :meth:`Value.topo`), so the same expression at the same point gives the same ids in ``graph``
and ``explain``. Nothing here recurses: graphs can be 10,000+ nodes deep or wide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gradcli.engine import backward_steps
from gradcli.errors import GradcliError, MissingDependencyError
from gradcli.evaluate import Evaluation
from gradcli.expr import Node, clip, strip_brackets
from gradcli.ops import OPS, Op

#: longest subexpression text kept per node (longer ones end in "...")
TEXT_LIMIT = 40


@dataclass(frozen=True)
class GraphNode:
    """One node of the computation graph after the forward and backward pass."""

    id: str
    kind: str  # "var" | "const" (a number or a named constant) | "op"
    op: str  # the op table's name; "" for a leaf
    label: str  # variable name, literal text, or the op's short label ("*", "**3", "sin")
    text: str  # the subexpression as the user wrote it (clipped to TEXT_LIMIT)
    data: float
    grad: float
    inputs: tuple[str, ...]  # ids of the inputs, in argument order (repeats kept: x*x)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "op": self.op,
            "kind": self.kind,
            "label": self.label,
            "text": self.text,
            "data": self.data,
            "grad": self.grad,
            "inputs": list(self.inputs),
        }


@dataclass
class Graph:
    """The whole graph: nodes in creation order (every input before the nodes that use it)."""

    expression: str
    point: dict[str, float]
    nodes: list[GraphNode]
    output: str
    n_ary: bool = False  # an n-ary operator has 3+ inputs: a + b + c is one add node

    def node(self, node_id: str) -> GraphNode:
        return self.nodes[int(node_id[1:])]

    @property
    def value(self) -> float:
        return self.node(self.output).data

    def uses(self) -> dict[str, int]:
        """How many times each node is an input (x in x*x counts twice)."""
        count = {n.id: 0 for n in self.nodes}
        for n in self.nodes:
            for i in n.inputs:
                count[i] += 1
        return count

    def counts(self) -> dict[str, int]:
        out = {"var": 0, "const": 0, "op": 0}
        for n in self.nodes:
            out[n.kind] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "expression": self.expression,
            "point": self.point,
            "output": self.output,
            "nodes": [n.to_json() for n in self.nodes],
        }


def op_label(op: Op, tree: Node | None) -> str:
    """The short label of an op node, in micrograd's ``draw_dot`` style: ``+``, ``*``, ``**3``,
    ``sin``. Derived from the op table (symbol, params, name)."""
    if op.params:
        shown = tree.param_text[0] if tree is not None and tree.param_text else ""
        if not shown and tree is not None and tree.params:
            shown = f"{tree.params[0]:g}"
        return f"{op.symbol}{shown}" if op.symbol else f"{op.name} {shown}"
    if op.symbol and op.call_arity != 1:
        return op.symbol
    return op.name


def _text(ev: Evaluation, tree: Node | None, fallback: str) -> str:
    if tree is None:
        return fallback
    source = ev.expression.text
    end = min(tree.end, tree.start + 4 * TEXT_LIMIT)  # never slice more than needed
    text = " ".join(source[tree.start : end].split())
    if end < tree.end:
        text += "..."
    return clip(strip_brackets(text), TEXT_LIMIT, "...") or fallback


def graph_of(ev: Evaluation) -> Graph:
    """The graph of an evaluated expression, with deterministic ids."""
    order = ev.output.topo()
    ids = {id(v): f"n{i}" for i, v in enumerate(order)}
    names = {id(v): name for name, v in ev.leaves.items()}
    nodes: list[GraphNode] = []
    n_ary = False
    for v in order:
        key = id(v)
        tree = ev.nodes.get(key)
        if not v._prev:
            if key in names:
                kind, label = "var", names[key]
            else:
                kind = "const"
                # a number or pi as written; a constant subexpression (2*3) by its text
                label = tree.name if tree is not None and tree.kind != "op" else ""
                label = label or _text(ev, tree, f"{v.data:g}")
            op_name = ""
            text = label
        else:
            kind = "op"
            op = OPS[v._op]
            op_name = op.name
            label = op_label(op, tree)
            text = _text(ev, tree, label)
            n_ary = n_ary or (bool(op.symbol) and op.arity < 0 and len(v._prev) > 2)
        nodes.append(
            GraphNode(
                id=ids[key],
                kind=kind,
                op=op_name,
                label=label,
                text=text,
                data=float(v.data),
                grad=float(v.grad),
                inputs=tuple(ids[id(c)] for c in v._prev),
            )
        )
    return Graph(ev.expression.display, dict(ev.point), nodes, ids[id(ev.output)], n_ary)


# ---- the backward pass, step by step ------------------------------------------------------------


#: n-ary ops with more inputs than this write their form with an ellipsis: u_1 + u_2 + ... + u_n
FORM_TERMS = 4


def input_form(op: Op, n: int, params: tuple[str, ...] = ()) -> tuple[list[str], str]:
    """What the rule calls each of ``n`` inputs, and the op written in those names (with the
    constant parameters as written, when given: ``u**3``).

    Both are O(n) to make: compute them once per node, not once per input (a 20,000-term sum
    is one add node). An n-ary op with more than :data:`FORM_TERMS` inputs is written with an
    ellipsis, ``u_1 + u_2 + ... + u_n``, ``logsumexp(u_1, u_2, ..., u_n)``.
    """
    names = op.input_names(n)
    shown = _shown(params) if params else None
    if op.arity < 0 and n > FORM_TERMS:
        three = op.form(3)
        first, second = three.find("u_1"), three.find("u_2")
        if 0 <= first < second and "u_3" in three:
            sep = three[first + 3 : second]
            return names, three.replace("u_3", f"...{sep}u_n")
    return names, op.form(n, shown)


def _shown(params: tuple[str, ...]) -> tuple[str, ...]:
    """Parameters as written, bracketed unless a plain number: ``3``, ``(1/2)``."""
    return tuple(p if re.fullmatch(r"\d+(\.\d*)?|\.\d+", p) else f"({p})" for p in params)


def derivative_text(
    op: Op,
    n: int,
    position: int,
    params: tuple[str, ...] = (),
    *,
    names: list[str] | None = None,
    form: str | None = None,
) -> str:
    """``d sin(u)/du = cos(u)``, ``d(u*v)/dv = u``: the rule the table gives for one input.

    ``params`` (the n of ``u**n`` as written) fill the rule's slots: ``d(u**3)/du = 3*u**2``.
    ``names`` and ``form`` are :func:`input_form` of the node, when the caller has them.
    """
    if names is None or form is None:
        names, form = input_form(op, n, params)
    rule = op.rule_text(position, names, _shown(params) if params else None)
    head = f"d {form}/d{names[position]}" if op.function else f"d({form})/d{names[position]}"
    return f"{head} = {rule}"


@dataclass(frozen=True)
class InputStep:
    """What one step of the backward pass adds to one input's gradient."""

    node: str
    rule: str  # the op table's rule for this input ("cos(u)", "v", "n*u**(n-1)")
    derivative: str  # the rule written out: "d sin(u)/du = cos(u)"
    local: float  # the local derivative d(node)/d(input) at the point
    contribution: float  # upstream * local
    accumulated: float  # the input's gradient after this step
    use: int  # this is the use-th time the input receives a contribution (1-based)
    uses: int  # how many contributions it receives in all

    def to_json(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "rule": self.rule,
            "local": self.local,
            "contribution": self.contribution,
            "accumulated": self.accumulated,
        }


@dataclass(frozen=True)
class Step:
    """One node's turn in the backward pass."""

    node: str
    op: str
    upstream: float  # d output / d node, complete when its turn comes (reverse topological order)
    inputs: tuple[InputStep, ...]
    param: str = ""  # the constant n of u**n, as written

    def to_json(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "op": self.op,
            "upstream": self.upstream,
            "inputs": [i.to_json() for i in self.inputs],
        }


@dataclass
class Explanation:
    graph: Graph
    steps: list[Step]  # in the order the backward pass runs
    gradient: dict[str, float]  # variable name -> d output / d variable

    @property
    def rows(self) -> int:
        return sum(len(s.inputs) for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        return {
            "expression": self.graph.expression,
            "point": self.graph.point,
            "output": self.graph.output,
            "value": self.graph.value,
            "steps": [s.to_json() for s in self.steps],
            "gradient": self.gradient,
        }


def explain(ev: Evaluation, graph: Graph | None = None) -> Explanation:
    """Replay the backward pass in the order :meth:`Value.backward` runs it, recording each
    input's local derivative, contribution and running gradient.

    The running sums are computed here in the engine's order with the engine's arithmetic, so the
    last ``accumulated`` of every node equals its ``grad`` exactly.
    """
    graph = graph or graph_of(ev)
    order = ev.output.topo()
    ids = {id(v): f"n{i}" for i, v in enumerate(order)}
    uses = graph.uses()
    seen: dict[int, int] = {}
    steps: list[Step] = []
    for v in order:
        v.grad = 0.0
    ev.output.grad = 1.0
    # the engine's own backward loop, every node included (also those whose upstream is 0)
    for v, g, locals_ in backward_steps(order, every=True):
        op = OPS[v._op]
        n = len(v._prev)
        tree = ev.nodes.get(id(v))
        params: tuple[str, ...] = ()
        if op.params and tree is not None:
            params = tree.param_text or tuple(f"{p:g}" for p in tree.params)
        names, form = input_form(op, n, params)
        # the input's gradient before this step is its .grad now; the loop adds local * g
        running: dict[int, float] = {}
        inputs: list[InputStep] = []
        for i, (child, local) in enumerate(zip(v._prev, locals_ or ())):
            key = id(child)
            contribution = local * g
            running[key] = running.get(key, child.grad) + contribution
            seen[key] = seen.get(key, 0) + 1
            inputs.append(
                InputStep(
                    node=ids[key],
                    rule=op.rule_text(i, names, params or None),
                    derivative=derivative_text(op, n, i, params, names=names, form=form),
                    local=float(local),
                    contribution=float(contribution),
                    accumulated=float(running[key]),
                    use=seen[key],
                    uses=uses[ids[key]],
                )
            )
        steps.append(Step(ids[id(v)], op.name, float(g), tuple(inputs), ", ".join(params)))
    return Explanation(graph, steps, ev.gradient)


# ---- Graphviz -----------------------------------------------------------------------------------

_RECORD_SPECIAL = str.maketrans({c: "\\" + c for c in "{}|<>"})


def _record(text: str) -> str:
    # in a record label { } | < > give the layout; escape them (expressions hold no backslash)
    return text.translate(_RECORD_SPECIAL)


def _quote(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


#: a node's text in DOT is cut to this many characters (the whole text is its tooltip)
DOT_LABEL = 24
#: more operation levels than this and the graph is drawn top to bottom (not left to right), so
#: that a deep expression makes a tall image rather than one thousands of pixels wide
DOT_MAX_LR_DEPTH = 5


def depth(graph: Graph) -> int:
    """Operation levels on the longest path from a leaf to the output."""
    level: dict[str, int] = {}
    for n in graph.nodes:  # inputs come before the nodes that use them
        level[n.id] = 1 + max((level[i] for i in n.inputs), default=-1) if n.inputs else 0
    return max(level.values(), default=0)


def to_dot(graph: Graph) -> str:
    """Graphviz DOT in the style of micrograd's ``draw_dot``: a record per value
    (label | data | grad), a small node per operation, left to right, or top to bottom when the
    graph is deeper than DOT_MAX_LR_DEPTH. Every node is there; long texts are cut to DOT_LABEL
    characters in the picture (the tooltip has them whole)."""
    direction = "LR" if depth(graph) <= DOT_MAX_LR_DEPTH else "TB"
    lines = [
        "digraph gradcli {",
        f"  graph [rankdir={direction}];",
        '  node [shape=record, fontname="monospace"];',
        f"  // {clip(graph.expression, 200, '...').replace(chr(10), ' ')}",
    ]
    for n in graph.nodes:
        text = n.text if n.kind == "op" else n.label
        head = f"{n.id}: {clip(text, DOT_LABEL, '...')}"
        label = (
            "{ "
            + _record(head)
            + " | "
            + _record(f"data {n.data:.6g}")
            + " | "
            + _record(f"grad {n.grad:.6g}")
            + " }"
        )
        tooltip = f", tooltip={_quote(text)}" if len(text) > DOT_LABEL else ""
        lines.append(f"  {n.id} [label={_quote(label)}{tooltip}];")
        if n.kind != "op":
            continue
        lines.append(f"  {n.id}_op [label={_quote(n.label)}, shape=ellipse];")
        lines.append(f"  {n.id}_op -> {n.id};")
        op = OPS[n.op]
        names = op.input_names(len(n.inputs)) if len(n.inputs) > 1 else [""]
        for name, i in zip(names, n.inputs):
            attr = f" [label={_quote(name)}]" if name else ""
            lines.append(f"  {i} -> {n.id}_op{attr};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_text(path: str, text: str) -> None:
    """Write a file, turning an OS error into one clear line (exit 2)."""
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise GradcliError(
            f"cannot write {path}: {exc.strerror or exc}", hint="check the path and permissions"
        ) from None


#: above this many value nodes --svg/--png refuse: dot's layout time grows much faster than linear
RENDER_LIMIT = 2_000
RENDER_TIMEOUT = 120


def render_image(dot_text: str, path: str, fmt: str, nodes: int) -> None:
    """Render DOT to ``path`` as ``fmt`` (svg, png) with Graphviz's ``dot`` program."""
    import shutil
    import subprocess

    exe = shutil.which("dot")
    if nodes > RENDER_LIMIT:
        raise GradcliError(
            f"--{fmt}: the graph has {nodes:,} nodes, more than the {RENDER_LIMIT:,} that dot "
            "lays out in reasonable time",
            hint=f"write it with --dot FILE and run dot -T{fmt} yourself (it can take minutes), "
            "or use --json",
        )
    if exe is None:
        raise MissingDependencyError(
            f"--{fmt} needs Graphviz's 'dot' program, which is not installed",
            hint=f"install Graphviz (e.g. apt-get install graphviz), or write the graph with "
            f"--dot FILE and render it elsewhere (dot -T{fmt} FILE -o {path})",
        )
    try:
        proc = subprocess.run(
            [exe, f"-T{fmt}", "-o", path],
            input=dot_text,
            capture_output=True,
            text=True,
            timeout=RENDER_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise GradcliError(
            f"dot took more than {RENDER_TIMEOUT} s to render {path}; gave up",
            hint="write the graph with --dot FILE and render it yourself",
        ) from None
    except OSError as exc:
        raise GradcliError(f"could not run {exe}: {exc}") from None
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or ["no message"])[0]
        raise GradcliError(
            f"dot could not render {path} (exit {proc.returncode}): {why}",
            hint="check the path; --dot FILE writes the graph text instead",
        )
