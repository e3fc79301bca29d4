"""``gradcli graph`` and ``gradcli explain``: the computation graph and the backward pass."""

from __future__ import annotations

import sys

import typer

from gradcli.commands.common import (
    AT_OPT,
    EXPR_ARG,
    JSON_OPT,
    emit_json,
    load_problem,
    make_console,
)
from gradcli.errors import GradcliError
from gradcli.examples import EXAMPLE_NOTE

GRAPH_MAX_NODES_HELP = (
    "Show at most N rows in the terminal (nodes, and references to nodes already shown); "
    "0 shows everything. --json and --dot are always complete."
)

EXPLAIN_MAX_NODES_HELP = (
    "Show at most N rows of the backward pass (and N variables) in the terminal; "
    "0 shows everything. --json is always complete."
)

GRAPH_EPILOG = (
    "Examples:\n\n"
    "  gradcli graph                               the built-in example (micrograd's exercise)\n\n"
    '  gradcli graph "x*x + x*x" --at x=3          two products and a sum, x shared\n\n'
    '  gradcli graph "tanh(w*x + b)" --at w=0.5,x=2,b=-1 --dot neuron.dot\n\n'
    "  gradcli graph --svg graph.svg               render with Graphviz's dot program\n\n"
    "  gradcli graph --dot - | dot -Tpng -o graph.png"
)

EXPLAIN_EPILOG = (
    "Examples:\n\n"
    "  gradcli explain                             the built-in example, step by step\n\n"
    '  gradcli explain "x*x + sin(x)" --at x=2     x receives three contributions\n\n'
    '  gradcli explain "x**2 * y" --at x=3,y=2 --json'
)


def _max_nodes(help: str) -> int:
    return typer.Option(60, "--max-nodes", min=0, metavar="N", help=help)


def graph_command(
    expr: str | None = EXPR_ARG,
    at: list[str] | None = AT_OPT,
    as_json: bool = JSON_OPT,
    dot: str | None = typer.Option(
        None,
        "--dot",
        metavar="FILE",
        help="Write the graph as Graphviz DOT (micrograd's draw_dot style); - for stdout.",
    ),
    svg: str | None = typer.Option(
        None, "--svg", metavar="FILE", help="Render the graph to SVG (needs Graphviz's dot)."
    ),
    png: str | None = typer.Option(
        None, "--png", metavar="FILE", help="Render the graph to PNG (needs Graphviz's dot)."
    ),
    max_nodes: int = _max_nodes(GRAPH_MAX_NODES_HELP),
) -> None:
    """The computation graph after the forward and backward pass.

    Each node with its operation, value and gradient (d output / d node), from the output down
    to the inputs. The graph is the expression as written: x*x + x*x is two products and a sum.
    A variable used twice is one node; its later uses refer back to it.
    """
    from gradcli.evaluate import build
    from gradcli.graphview import graph_of, render_image, to_dot, write_text

    if dot == "-" and as_json:
        raise GradcliError(
            "--dot - and --json both want stdout", hint="write the DOT to a file: --dot FILE"
        )
    for flag, path in (("--svg", svg), ("--png", png)):
        if path == "-":
            raise GradcliError(
                f"{flag} needs a file name, not -", hint=f"e.g. {flag} graph.{flag[2:]}"
            )
        ext, other = "." + flag[2:], "png" if flag == "--svg" else "svg"
        if path is not None and not path.lower().endswith(ext):
            hint = f"e.g. {flag} graph{ext}"
            if path.lower().endswith("." + other):
                hint = f"for a {other.upper()} file use --{other} {path}"
            raise GradcliError(f"{flag} {path}: the file name must end in {ext}", hint=hint)
    problem = load_problem(expr, at)
    graph = graph_of(build(problem.expression, problem.point))
    if dot is not None or svg or png:
        text = to_dot(graph)
        if dot == "-":
            sys.stdout.write(text)
        elif dot is not None:
            write_text(dot, text)
            sys.stderr.write(f"gradcli: wrote {dot} ({len(graph.nodes):,} nodes, Graphviz DOT)\n")
        for fmt, path in (("svg", svg), ("png", png)):
            if path:
                render_image(text, path, fmt, len(graph.nodes))
                sys.stderr.write(f"gradcli: wrote {path} ({len(graph.nodes):,} nodes)\n")
    if as_json:
        emit_json(graph.to_json())
        return
    if dot == "-":
        return
    from gradcli.render.graph import render_graph

    note = EXAMPLE_NOTE if problem.builtin else None
    make_console().print(render_graph(graph, note, max_nodes))


def explain_command(
    expr: str | None = EXPR_ARG,
    at: list[str] | None = AT_OPT,
    as_json: bool = JSON_OPT,
    max_nodes: int = _max_nodes(EXPLAIN_MAX_NODES_HELP),
) -> None:
    """The backward pass step by step, in the order it runs (reverse topological order).

    For each node: the gradient arriving from above (upstream), each input's local derivative
    with the rule that gives it, the contribution upstream × local, and the input's gradient
    after the step. Ends with the gradient of every variable as the sum of its contributions.
    Node ids are the same as in 'gradcli graph'.
    """
    from gradcli.evaluate import build
    from gradcli.graphview import explain

    problem = load_problem(expr, at)
    ex = explain(build(problem.expression, problem.point))
    if as_json:
        emit_json(ex.to_json())
        return
    from gradcli.render.graph import render_explain

    note = EXAMPLE_NOTE if problem.builtin else None
    console = make_console()
    # the input column gets what a wide terminal has beyond the 100 columns the table needs
    label = max(10, 10 + console.width - 100)
    console.print(render_explain(ex, note, max_nodes, label_width=label))
