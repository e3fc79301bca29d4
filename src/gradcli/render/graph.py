"""``gradcli graph`` and ``gradcli explain`` output: pure functions, bounded for huge graphs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Group
from rich.markup import escape

from gradcli.expr import clip
from gradcli.graphview import Explanation, Graph, GraphNode
from gradcli.render import header, num, problem_rows, table

#: default bound on the rows of the text views (--max-nodes); --json and --dot are never bounded
MAX_ROWS = 60
#: tree levels shown before a subtree is continued as a block of its own (keeps lines short)
MAX_DEPTH = 10
DIGITS = 6


def fmt(x: float) -> str:
    """Six significant digits: what fits in a column and a reader can check by hand."""
    return f"{x:.{DIGITS}g}"


def _many(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _head(graph: Graph, note: str | None) -> list[tuple[str, str]]:
    rows = problem_rows(graph.expression, graph.point, graph.value, note, limit=300)
    c = graph.counts()
    rows += [
        (
            "nodes",
            f"{len(graph.nodes):,} ({_many(c['var'], 'variable')}, "
            f"{_many(c['const'], 'constant')}, {_many(c['op'], 'operation')})",
        ),
    ]
    return rows


# ---- graph --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the tree: the guides drawn before it, the node, and how it is shown."""

    prefix: str
    node: GraphNode
    mark: str = ""  # "" full | "ref" shown above | "cut" inputs continue below | "cont" that block


@dataclass
class TreeView:
    rows: list[Row]
    shown: int  # distinct nodes on some row
    complete: bool  # every node and every edge is on some row


def tree_rows(graph: Graph, max_rows: int = MAX_ROWS, max_depth: int = MAX_DEPTH) -> TreeView:
    """The graph from the output down to the inputs as tree rows, each node in full once.

    A node reached again (a shared variable, a reused subexpression) gets a one-line reference
    (``ref``) instead of its subtree again: the rows stay linear in the size of the DAG. Past
    ``max_depth`` levels a subtree is continued as a block of its own after the current one, so
    lines stay short however deep the graph is. At most ``max_rows`` rows (0: no bound).
    """
    rows: list[Row] = []
    shown: set[str] = set()
    blocks = [graph.output]
    b = 0
    # stack entries: (node id, depth, guides above it, its connector, is the root of a block)
    stack: list[tuple[str, int, str, str, bool]] = []
    while b < len(blocks) or stack:
        if max_rows and len(rows) >= max_rows:
            break
        if not stack:
            stack.append((blocks[b], 0, "", "", b > 0))
            b += 1
        nid, depth, guides, conn, cont = stack.pop()
        node = graph.node(nid)
        if nid in shown and not cont:
            rows.append(Row(guides + conn, node, "ref"))
            continue
        shown.add(nid)
        if node.inputs and depth >= max_depth:
            rows.append(Row(guides + conn, node, "cut"))
            blocks.append(nid)
            continue
        rows.append(Row(guides + conn, node, "cont" if cont else ""))
        inner = guides + ("" if not conn else "   " if conn.startswith("└") else "│  ")
        last = len(node.inputs) - 1
        for i in range(last, -1, -1):
            stack.append((node.inputs[i], depth + 1, inner, "└─ " if i == last else "├─ ", False))
    complete = not stack and b >= len(blocks)
    return TreeView(rows, len(shown), complete)


def render_graph(
    graph: Graph, note: str | None = None, max_rows: int = MAX_ROWS, text_width: int = 48
) -> Any:
    view = tree_rows(graph, max_rows)
    parts: list[Any] = [header(_head(graph, note))]
    t = table(
        "<node",
        "<op",
        "value",
        "grad",
        title="computation graph",
    )
    for row in view.rows:
        n = row.node
        kind = n.op or ("variable" if n.kind == "var" else "constant")
        if row.mark == "ref":
            t.add_row(
                f"{escape(row.prefix)}{n.id} {escape(clip(n.label, 20))}  [dim]↑ shown above[/dim]",
                "",
                "",
                "",
            )
            continue
        # the deeper the row, the shorter its text: the node column keeps one width
        text = escape(clip(n.text, max(12, text_width - len(row.prefix))))
        if row.mark == "cut":
            text += "  [dim]↓ inputs continued below[/dim]"
        elif row.mark == "cont":
            text += "  [dim](continued)[/dim]"
        t.add_row(f"{escape(row.prefix)}{n.id}  {text}", escape(kind), fmt(n.data), fmt(n.grad))
    parts.append(t)
    parts.append(
        "[dim]From the output (top) down to the inputs, as written (nothing simplified). "
        "grad = d output / d node. A node used more than once (a shared variable) is shown "
        "once; its later uses say ↑ shown above.[/dim]"
    )
    if graph.n_ary:
        parts.append(
            "[yellow]note:[/yellow] a run of + such as a + b + c is one add node with an input "
            "per term"
        )
    if not view.complete:
        parts.append(_left_out(graph, view))
    return Group(*parts)


def _left_out(graph: Graph, view: TreeView) -> str:
    """The note under a bounded tree: exactly what was left out (O(size of the graph))."""
    rows, total = len(view.rows), len(tree_rows(graph, 0).rows)
    nodes = len(graph.nodes)
    if view.shown < nodes:
        return (
            f"[yellow]note:[/yellow] showing {rows:,} of {total:,} rows ({view.shown:,} of "
            f"{_many(nodes, 'node')}); --max-nodes N shows more (0 for all), --json and --dot "
            "give the complete graph"
        )
    return (
        f"[yellow]note:[/yellow] showing {rows:,} of {total:,} rows: every node is shown; the "
        f"{total - rows:,} rows left out only refer back to nodes shown above (--max-nodes 0 "
        "shows them)"
    )


# ---- explain ------------------------------------------------------------------------------------


def render_explain(
    ex: Explanation, note: str | None = None, max_rows: int = MAX_ROWS, label_width: int = 10
) -> Any:
    graph = ex.graph
    parts: list[Any] = [header(_head(graph, note))]
    if not ex.steps:
        parts.append(
            "[dim]The output is a leaf (no operation): the backward pass has nothing to do; "
            "its gradient with respect to itself is 1.[/dim]"
        )
    t = table(
        "<node",
        "upstream",
        "<input",
        "<local derivative",
        "contribution",
        "accumulated",
        title="backward pass, in the order it runs (output first)",
        padding=(0, 0),  # one space between columns (the box's divider): the rules fit 100
    )
    rows = 0
    steps = 0
    for step in ex.steps:
        if max_rows and rows >= max_rows:
            break
        steps += 1
        for k, inp in enumerate(step.inputs):
            if max_rows and rows >= max_rows:
                break
            rows += 1
            child = graph.node(inp.node)
            derivative = f"{inp.derivative} = {fmt(inp.local)}"
            if _is_number(inp.rule, inp.local):
                derivative = inp.derivative  # "d(u - v)/du = 1": the value adds nothing
            acc = fmt(inp.accumulated)
            if inp.uses > 1:
                acc += f" ({inp.use}/{inp.uses})"
            first = k == 0
            t.add_row(
                step.node if first else "",
                fmt(step.upstream) if first else "",
                f"{inp.node} {escape(clip(child.text, label_width))}",
                escape(derivative),
                fmt(inp.contribution),
                escape(acc) if child.kind != "var" else f"[bold]{escape(acc)}[/bold]",
            )
    if ex.steps:
        parts.append(t)
        parts.append(
            "[dim]Each step hands the node's gradient (upstream) to its inputs: contribution = "
            "upstream × local derivative, added to the input's gradient (accumulated). "
            "(k/m): the k-th of the m contributions a node used m times receives.[/dim]"
        )
    if steps < len(ex.steps) or rows < ex.rows:
        parts.append(
            f"[yellow]note:[/yellow] showing {rows:,} of {ex.rows:,} rows ({steps:,} of "
            f"{len(ex.steps):,} steps); --max-nodes N shows more (0 for all), --json gives "
            "every step"
        )
    parts.append(_gradient(ex, max_rows))
    return Group(*parts)


def _is_number(text: str, value: float) -> bool:
    try:
        return float(text) == value
    except ValueError:
        return False


def _gradient(ex: Explanation, max_rows: int) -> Any:
    if not ex.gradient:
        return "[dim]The expression has no variables: there is no gradient to show.[/dim]"
    graph = ex.graph
    by_node = {n.label: n for n in graph.nodes if n.kind == "var"}
    parts: dict[str, list[float]] = {n.id: [] for n in by_node.values()}
    for step in ex.steps:
        for inp in step.inputs:
            if inp.node in parts:
                parts[inp.node].append(inp.contribution)
    t = table("<variable", "value", "gradient", "<sum of its contributions", title="gradient")
    names = list(ex.gradient)
    shown = names if not max_rows else names[:max_rows]
    for name in shown:
        node = by_node[name]
        terms = parts[node.id]
        if not terms:
            how = "1 (the output itself)" if node.id == graph.output else "0 (no path)"
        elif len(terms) <= 4:
            how = " + ".join(fmt(c) for c in terms)
        else:
            how = f"{len(terms):,} contributions"
        t.add_row(escape(name), num(node.data), num(ex.gradient[name]), escape(how))
    out: list[Any] = [t]
    if len(shown) < len(names):
        out.append(
            f"[yellow]note:[/yellow] showing {len(shown):,} of {len(names):,} variables; "
            "--json gives them all"
        )
    return Group(*out)
