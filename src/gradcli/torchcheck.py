"""``gradcli verify-torch`` as a library call: gradcli's gradients against PyTorch autograd.

The torch graph is built from the same validated tree as the Value graph, op by op through the
op table's ``torch`` counterparts (:attr:`gradcli.ops.Op.torch`): no second list of operations.
Each quantity (the value and every partial derivative) is compared with

    |gradcli - torch| <= atol + rtol * |torch|

torch is imported only inside the functions that need it; without it, a
:class:`MissingDependencyError` with the install hint.

The built-in suite (:func:`suite`) is the classic micrograd exercise, the softmax + negative
log-likelihood example, micrograd's own ``test_sanity_check`` and ``test_more_ops`` (written once,
generic over the number type, and run on gradcli's Value and on torch tensors), and every op in
the op table at several points of its domain, kinks included. The points are chosen from the
table (arity, constant parameters, domain check), not listed per op.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gradcli.engine import Value
from gradcli.errors import DomainError, MissingDependencyError
from gradcli.evaluate import build, check_names
from gradcli.expr import Expression, Node, to_text, walk
from gradcli.ops import OPS, Op
from gradcli.parse import parse

INSTALL_HINT = (
    "install it with: pip install 'gradcli[torch]' (in a checkout of gradcli: "
    "pip install -e '.[torch]'; for the small CPU-only build add "
    "--index-url https://download.pytorch.org/whl/cpu)"
)

#: default tolerances: tight for float64 (a few hundred ulps of rounding in a long graph)...
DEFAULT_TOLERANCES: dict[str, tuple[float, float]] = {
    "float64": (1e-10, 1e-12),
    # ...and what float32 (24-bit mantissa, eps 1.2e-7) can hold after a few dozen operations
    "float32": (1e-5, 1e-6),
}
DTYPES = tuple(DEFAULT_TOLERANCES)
#: in float32 the suite keeps to points with |u| <= this (its rounding grows with |u|)
FLOAT32_SPAN = 100.0
DEVICES = ("cpu", "cuda")

#: the softmax + negative log-likelihood example: logits 0, 3, -2, 1, target 3 (the last one)
SOFTMAX_NLL_EXPR = "logsumexp(a, b, c, d) - d"
SOFTMAX_NLL_POINT = {"a": 0.0, "b": 3.0, "c": -2.0, "d": 1.0}

# Points for the per-op cases. Every combination the op's arity allows is tried; the ones
# outside the op's domain (its ``check``, a failing forward, an infinite derivative) are dropped.
# 0 is among them: the kink of relu and abs, where the conventions must agree with PyTorch.
_UNARY = (-1.5, -0.5, 0.0, 0.5, 2.0)
_BINARY = ((1.5, -0.5), (-2.0, 0.5), (0.5, 2.0), (0.0, 1.5))
_NARY = ((0.5,), (1.5, -0.5), (-2.0, 0.5, 1.0))
_PARAM_BASES = (-1.5, 0.0, 2.0)
_PARAM_VALUES = (2.0, 3.0, -1.0, 0.5, -1.5)  # integer and fractional exponents
_NAMES = ("u", "v", "w")


# ---- results -------------------------------------------------------------------------------------


@dataclass
class Quantity:
    """One compared number: the value or a partial derivative."""

    name: str  # "value" or the variable's name
    gradcli: float
    torch: float
    abs_diff: float  # inf when either side is not finite
    rel_diff: float | None  # abs_diff / |torch|; None when torch is 0 (or not finite)
    excess: float  # abs_diff / (atol + rtol*|torch|): <= 1 passes
    passed: bool
    # passed only through atol: abs_diff > rtol*|torch| (a tiny value, such as gelu's far tail,
    # where the relative difference is large and the absolute one is below atol)
    by_atol: bool = False


@dataclass
class Case:
    """One expression (or program) at one point, on both sides."""

    name: str
    expression: str
    point: dict[str, float]
    value: Quantity
    gradient: dict[str, Quantity]
    gradcheck: bool | None = None  # None: not run
    gradcheck_note: str = ""
    kink: bool = False  # a non-smooth op (relu, abs) evaluated exactly at its kink
    known: str = ""  # where torch's own function differs from the mathematics (op table)
    # --hessian: the upper triangle, "∂²/∂x∂y" -> gradcli's reverse over reverse against
    # torch.autograd.functional.hessian; None when not asked for
    hessian: dict[str, Quantity] | None = None
    gradgradcheck: bool | None = None  # None: not run
    gradgradcheck_note: str = ""

    @property
    def quantities(self) -> list[Quantity]:
        return [self.value, *self.gradient.values(), *(self.hessian or {}).values()]

    @property
    def by_atol(self) -> list[str]:
        """The quantities that pass only through atol, not rtol."""
        return [q.name for q in self.quantities if q.by_atol]

    @property
    def passed(self) -> bool:
        return (
            all(q.passed for q in self.quantities)
            and self.gradcheck is not False
            and self.gradgradcheck is not False
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "expression": self.expression,
            "point": self.point,
            "passed": self.passed,
            "value": {"gradcli": _finite(self.value.gradcli), "torch": _finite(self.value.torch)},
            "gradient": {
                n: {
                    "gradcli": _finite(q.gradcli),
                    "torch": _finite(q.torch),
                    "abs_diff": _finite(q.abs_diff),
                }
                for n, q in self.gradient.items()
            },
        }
        if self.hessian is not None:
            out["hessian"] = {
                n: {
                    "gradcli": _finite(q.gradcli),
                    "torch": _finite(q.torch),
                    "abs_diff": _finite(q.abs_diff),
                }
                for n, q in self.hessian.items()
            }
        if self.gradcheck is not None or self.gradcheck_note:
            out["gradcheck"] = self.gradcheck
        if self.gradgradcheck is not None or self.gradgradcheck_note:
            out["gradgradcheck"] = self.gradgradcheck
        if self.known:
            out["known_difference"] = self.known
        out["passed_by_atol"] = self.by_atol
        return out


@dataclass
class VerifyReport:
    cases: list[Case]
    dtype: str
    device: str
    rtol: float
    atol: float
    suite: bool = False
    gradcheck: bool = False
    notes: list[str] = field(default_factory=list)
    hessian: bool = False  # second derivatives were compared too
    jacobian: bool = False  # several outputs: one case per output (a row of the Jacobian)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.cases)

    @property
    def n_passed(self) -> int:
        return sum(c.passed for c in self.cases)

    @property
    def n_failed(self) -> int:
        return len(self.cases) - self.n_passed

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "dtype": self.dtype,
            "device": self.device,
            "rtol": self.rtol,
            "atol": self.atol,
            "cases": [c.to_json() for c in self.cases],
            **({"jacobian": self.jacobian_json()} if self.jacobian else {}),
        }

    def jacobian_json(self) -> dict[str, Any]:
        """Several outputs: the Jacobian both ways, one row per output, one column per variable
        (0 where an output does not use a variable)."""
        names = list(dict.fromkeys(n for c in self.cases for n in c.point))

        def row(c: Case, side: str) -> list[float | None]:
            return [
                _finite(getattr(c.gradient[n], side)) if n in c.gradient else 0.0 for n in names
            ]

        return {
            "variables": names,
            "gradcli": [row(c, "gradcli") for c in self.cases],
            "torch": [row(c, "torch") for c in self.cases],
        }


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def compare_number(name: str, ours: float, theirs: float, rtol: float, atol: float) -> Quantity:
    """``|ours - theirs| <= atol + rtol * |theirs|``, torch being the reference."""
    if not (math.isfinite(ours) and math.isfinite(theirs)):
        same = ours == theirs or (math.isnan(ours) and math.isnan(theirs))
        diff = 0.0 if same else math.inf
        return Quantity(name, ours, theirs, diff, None, 0.0 if same else math.inf, same)
    diff = abs(ours - theirs)
    allowed = atol + rtol * abs(theirs)
    rel = diff / abs(theirs) if theirs != 0 else (0.0 if diff == 0 else None)
    excess = diff / allowed if allowed > 0 else (0.0 if diff == 0 else math.inf)
    passed = diff <= allowed
    by_atol = passed and diff > rtol * abs(theirs)
    return Quantity(name, ours, theirs, diff, rel, excess, passed, by_atol)


# ---- torch ---------------------------------------------------------------------------------------


def import_torch() -> Any:
    """The torch module, or a :class:`MissingDependencyError` with the install hint."""
    try:
        import torch
    except ImportError:
        raise MissingDependencyError(
            "verify-torch needs PyTorch, which is not installed", hint=INSTALL_HINT
        ) from None
    return torch


@dataclass
class TorchSide:
    """torch, with the dtype and device every tensor of a check is made with."""

    torch: Any
    dtype: Any
    device: Any

    def leaf(self, x: float, dtype: Any = None) -> Any:
        return self.torch.tensor(
            x, dtype=dtype or self.dtype, device=self.device, requires_grad=True
        )

    def constant(self, x: float, dtype: Any = None) -> Any:
        return self.torch.tensor(x, dtype=dtype or self.dtype, device=self.device)


def torch_side(dtype: str = "float64", device: str = "cpu") -> TorchSide:
    """Import torch and resolve ``dtype`` and ``device``; errors (exit 2) when either is not
    usable."""
    if dtype not in DTYPES:
        raise DomainError(f"unknown dtype {dtype!r}", hint=f"use one of: {', '.join(DTYPES)}")
    if device not in DEVICES:
        raise DomainError(f"unknown device {device!r}", hint=f"use one of: {', '.join(DEVICES)}")
    torch = import_torch()
    if device == "cuda" and not torch.cuda.is_available():
        raise MissingDependencyError(
            "--device cuda: PyTorch sees no CUDA GPU on this machine "
            "(torch.cuda.is_available() is False)",
            hint="leave out --device (the default is cpu), or run on a machine with a GPU and a "
            "CUDA build of PyTorch",
        )
    return TorchSide(torch, getattr(torch, dtype), torch.device(device))


def torch_graph(expression: Expression, leaves: Mapping[str, Any], side: TorchSide) -> Any:
    """The expression as a torch graph over ``leaves``, op by op from the op table."""
    torch = side.torch
    # constants take the leaves' dtype (gradcheck runs in float64 whatever --dtype says)
    dtype = next(iter(leaves.values())).dtype if leaves else side.dtype

    def visit(node: Node, args: list[Any]) -> Any:
        if node.kind == "var":
            return leaves[node.name]
        if node.kind in ("num", "const"):
            return side.constant(node.const if node.const is not None else 0.0, dtype)
        return node.op.torch(torch, *args, *node.params)

    return walk(expression.root, visit)


def _torch_run(
    side: TorchSide, point: Mapping[str, float], fn: Callable[[Mapping[str, Any]], Any]
) -> tuple[float, dict[str, float]]:
    """Value and gradient of ``fn`` (leaves -> output tensor) by torch autograd."""
    torch = side.torch
    leaves = {n: side.leaf(x) for n, x in point.items()}
    out = fn(leaves)
    if not isinstance(out, torch.Tensor):
        out = side.constant(float(out))
    grads: tuple[Any, ...] = ()
    if leaves and out.requires_grad:
        grads = torch.autograd.grad(out, list(leaves.values()), allow_unused=True)
    gradient = {n: float(g.item()) if g is not None else 0.0 for n, g in zip(leaves, grads)}
    for n in leaves:
        gradient.setdefault(n, 0.0)
    return float(out.detach().item()), gradient


def _gradcheck(
    side: TorchSide,
    point: Mapping[str, float],
    fn: Callable[[Mapping[str, Any]], Any],
    check: str = "gradcheck",
) -> tuple[bool | None, str]:
    """``torch.autograd.gradcheck`` (torch's gradient against finite differences) or, with
    ``check="gradgradcheck"``, its second derivatives against finite differences of its first;
    in float64 (they need double precision) on ``side.device``."""
    torch = side.torch
    if not point:
        return None, "no variables"
    names = list(point)
    inputs = tuple(side.leaf(point[n], torch.float64) for n in names)

    def f(*xs: Any) -> Any:
        return fn(dict(zip(names, xs, strict=True)))

    try:
        ok = bool(getattr(torch.autograd, check)(f, inputs, raise_exception=True))
    except RuntimeError as exc:  # GradcheckError is a RuntimeError
        return False, str(exc).strip().splitlines()[0][:200]
    return ok, ""


def hessian_label(a: str, b: str) -> str:
    return f"∂²/∂{a}²" if a == b else f"∂²/∂{a}∂{b}"


def torch_hessian(
    side: TorchSide, point: Mapping[str, float], fn: Callable[[Mapping[str, Any]], Any]
) -> list[list[float]]:
    """``torch.autograd.functional.hessian`` of ``fn`` at ``point``, in the side's dtype."""
    torch = side.torch
    names = list(point)
    inputs = tuple(side.constant(point[n]) for n in names)

    def f(*xs: Any) -> Any:
        out = fn(dict(zip(names, xs, strict=True)))
        return out if isinstance(out, torch.Tensor) else side.constant(float(out))

    h = torch.autograd.functional.hessian(f, inputs)
    return [[float(h[i][j].item()) for j in range(len(names))] for i in range(len(names))]


def _add_hessian(
    case: Case,
    side: TorchSide,
    output: Value,
    leaves: Mapping[str, Value],
    fn: Callable[[Mapping[str, Any]], Any],
    rtol: float,
    atol: float,
    gradgradcheck: bool,
) -> None:
    """The upper triangle of the Hessian, gradcli (reverse over reverse) against torch; and
    gradgradcheck when asked."""
    from gradcli.hessian import reverse_over_reverse

    names = list(leaves)
    _, ours = reverse_over_reverse(output, list(leaves.values())) if names else ([], [])
    theirs = torch_hessian(side, case.point, fn) if names else []
    case.hessian = {}
    for i, a in enumerate(names):
        for j in range(i, len(names)):
            label = hessian_label(a, names[j])
            case.hessian[label] = compare_number(label, ours[i][j], theirs[i][j], rtol, atol)
    if gradgradcheck:
        if case.kink or _has_kink2(output):
            case.gradgradcheck_note = "skipped: at a kink, finite differences do not apply"
        else:
            case.gradgradcheck, case.gradgradcheck_note = _gradcheck(
                side, case.point, fn, "gradgradcheck"
            )


# ---- cases ---------------------------------------------------------------------------------------


def _node_args(node: Value) -> tuple[float, ...]:
    return (*(c.data for c in node._prev), *getattr(node, "_params", ()))


def _has_kink(output: Value) -> bool:
    """True when a non-smooth op sits exactly at a kink (``Op.kink``), where gradcli and torch
    follow a convention rather than a derivative."""
    for node in output.topo():
        op = OPS.get(node._op)
        if op is not None and op.kink is not None and op.kink(*_node_args(node)) is not None:
            return True
    return False


def _has_kink2(output: Value) -> bool:
    """True when an op sits where its second derivative jumps (``Op.kink2``)."""
    for node in output.topo():
        op = OPS.get(node._op)
        if op is not None and op.kink2 is not None and op.kink2(*_node_args(node)) is not None:
            return True
    return False


def _torch_gap(output: Value) -> tuple[str, float]:
    """Where torch's own function is known to differ from the mathematics at these arguments
    (softplus past its threshold): why, and by how much at most."""
    why, bound = "", 0.0
    for node in output.topo():
        op = OPS.get(node._op)
        gap = op.torch_gap(*_node_args(node)) if op is not None and op.torch_gap else None
        if gap is not None:
            why, bound = f"{op.name}: {gap[0]}", max(bound, gap[1])  # type: ignore[union-attr]
    return why, bound


def _make_case(
    name: str,
    text: str,
    point: dict[str, float],
    ours: tuple[float, dict[str, float]],
    theirs: tuple[float, dict[str, float]],
    rtol: float,
    atol: float,
) -> Case:
    value = compare_number("value", ours[0], theirs[0], rtol, atol)
    gradient = {n: compare_number(n, ours[1][n], theirs[1][n], rtol, atol) for n in point}
    return Case(name, text, dict(point), value, gradient)


def check_expression(
    expression: Expression,
    point: Mapping[str, float],
    side: TorchSide,
    *,
    rtol: float,
    atol: float,
    name: str | None = None,
    gradcheck: bool = False,
    hessian: bool = False,
) -> Case:
    """gradcli's Value graph and torch autograd on one expression at one point (and, with
    ``hessian``, their second derivatives; ``gradcheck`` then runs gradgradcheck too).

    Raises :class:`DomainError` (from :func:`gradcli.evaluate.build`) when the point is outside
    the expression's domain.
    """
    ev = build(expression, point)

    def fn(leaves: Mapping[str, Any]) -> Any:
        return torch_graph(expression, leaves, side)

    theirs = _torch_run(side, ev.point, fn)
    known, gap = _torch_gap(ev.output)
    case = _make_case(
        name or expression.display,
        expression.display,
        ev.point,
        (ev.value, ev.gradient),
        theirs,
        rtol,
        max(atol, gap),
    )
    case.kink = _has_kink(ev.output)
    case.known = known
    if gradcheck:
        _add_gradcheck(case, side, ev.point, fn)
    if hessian:
        _add_hessian(case, side, ev.output, ev.leaves, fn, rtol, max(atol, gap), gradcheck)
    return case


def _add_gradcheck(
    case: Case, side: TorchSide, point: Mapping[str, float], fn: Callable[..., Any]
) -> None:
    if case.kink:
        case.gradcheck_note = "skipped: at a kink, finite differences do not apply"
        return
    case.gradcheck, case.gradcheck_note = _gradcheck(side, point, fn)


# micrograd's own tests (micrograd/test/test_engine.py), written once for any number type that
# has + - * / ** and .relu(): gradcli's Value and torch tensors alike.


def micrograd_sanity_check(x: Any) -> Any:
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    return y


def micrograd_more_ops(a: Any, b: Any) -> Any:
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return g


@dataclass(frozen=True)
class Program:
    """A Python function of Values (or tensors), with the point micrograd's test uses."""

    name: str
    summary: str
    fn: Callable[..., Any]
    point: dict[str, float]


PROGRAMS = (
    Program(
        "micrograd test_sanity_check",
        "z = 2*x + 2 + x; q = relu(z) + z*x; h = relu(z*z); y = h + q + q*x",
        micrograd_sanity_check,
        {"x": -4.0},
    ),
    Program(
        "micrograd test_more_ops",
        "c = a + b; d = a*b + b**3; c += c + 1; c += 1 + c + (-a); d += d*2 + relu(b + a); "
        "d += 3*d + relu(b - a); e = c - d; f = e**2; g = f/2 + 10/f",
        micrograd_more_ops,
        {"a": -4.0, "b": 2.0},
    ),
)


def check_program(
    program: Program,
    side: TorchSide,
    *,
    rtol: float,
    atol: float,
    gradcheck: bool = False,
    hessian: bool = False,
) -> Case:
    """Run a :class:`Program` on gradcli's Value and on torch tensors, and compare."""
    leaves = {n: Value(x) for n, x in program.point.items()}
    out = program.fn(**leaves)
    out.backward()
    ours = (float(out.data), {n: float(v.grad) for n, v in leaves.items()})

    def fn(tensors: Mapping[str, Any]) -> Any:
        return program.fn(**tensors)

    theirs = _torch_run(side, program.point, fn)
    case = _make_case(program.name, program.summary, program.point, ours, theirs, rtol, atol)
    case.kink = _has_kink(out)
    if gradcheck:
        _add_gradcheck(case, side, program.point, fn)
    if hessian:
        _add_hessian(case, side, out, leaves, fn, rtol, atol, gradcheck)
    return case


def op_cases(op: Op) -> Iterator[tuple[str, Expression, dict[str, float]]]:
    """(name, expression, point) for ``op`` at its sample points (the op table's, kinks and
    torch's known differences included) and on a generic grid of its arity, inside its domain."""
    n = len(op.samples[0]) - len(op.params) if op.arity < 0 else op.arity
    if op.arity < 0:
        grid: tuple[tuple[float, ...], ...] = tuple(t for t in _NARY if len(t) >= op.min_args)
    else:
        grid = {1: tuple((u,) for u in (_PARAM_BASES if op.params else _UNARY)), 2: _BINARY}[n]
    param_sets = sorted({s[len(s) - len(op.params) :] for s in op.samples} if op.params else {()})
    if op.name == "pow":
        param_sets = [(p,) for p in _PARAM_VALUES]
    points = list(dict.fromkeys([*op.samples, *(g + p for g in grid for p in param_sets)]))
    for values in points:
        k = len(values) - len(op.params)
        inputs, params = values[:k], values[k:]
        names = _NAMES[:k] if k <= len(_NAMES) else tuple(f"u{i}" for i in range(k))
        node = Node("op", op.name, tuple(Node("var", n) for n in names), params)
        node.param_text = tuple(repr(p) for p in params)
        expression = parse(to_text(node))
        point = dict(zip(names, inputs, strict=True))
        try:
            build(expression, point)
        except DomainError:
            continue  # outside the domain, or an infinite derivative there
        where = ", ".join(f"{n}={_short(x)}" for n, x in point.items())
        label = f"{op.name} at {where}"
        if params:
            given = ", ".join(f"{a}={_short(b)}" for a, b in zip(op.params, params))
            label = f"{op.name} ({given}) at {where}"
        yield label, expression, point


def _short(x: float) -> str:
    return f"{x:g}"


def suite(
    side: TorchSide,
    *,
    rtol: float,
    atol: float,
    gradcheck: bool = False,
    hessian: bool = False,
    ops: Mapping[str, Op] | None = None,
) -> list[Case]:
    """The built-in suite, one :class:`Case` per expression and point."""
    from gradcli.examples import EXAMPLE_EXPR, EXAMPLE_POINT

    kw: dict[str, Any] = {"rtol": rtol, "atol": atol, "gradcheck": gradcheck, "hessian": hessian}
    cases = [
        check_expression(
            parse(EXAMPLE_EXPR),
            EXAMPLE_POINT,
            side,
            name="micrograd exercise",
            **kw,
        ),
        check_expression(
            parse(SOFTMAX_NLL_EXPR),
            SOFTMAX_NLL_POINT,
            side,
            name="softmax + NLL, target 3",
            **kw,
        ),
    ]
    cases += [check_program(p, side, **kw) for p in PROGRAMS]
    for op in (OPS if ops is None else ops).values():
        for label, expression, point in op_cases(op):
            if side.dtype != side.torch.float64 and max(map(abs, point.values())) > FLOAT32_SPAN:
                continue  # 1e200 overflows float32; exp(u - 1002) there is off by 1e-5
            cases.append(check_expression(expression, point, side, name=label, **kw))
    return cases


def resolve_tolerances(
    dtype: str, rtol: float | None, atol: float | None
) -> tuple[float, float, str | None]:
    """The tolerances to use (explicit ones win), and a note when defaults were loosened."""
    d_rtol, d_atol = DEFAULT_TOLERANCES[dtype]
    note = None
    if dtype != "float64" and (rtol is None or atol is None):
        note = (
            f"{dtype}: default tolerances loosened to what {dtype} can hold "
            f"(rtol={d_rtol:g}, atol={d_atol:g}; float64 uses "
            f"rtol={DEFAULT_TOLERANCES['float64'][0]:g}, "
            f"atol={DEFAULT_TOLERANCES['float64'][1]:g}); gradcli itself computes in float64"
        )
    return (d_rtol if rtol is None else rtol), (d_atol if atol is None else atol), note


def verify(
    expression: Expression | Sequence[Expression] | None,
    point: Mapping[str, float] | None = None,
    *,
    dtype: str = "float64",
    device: str = "cpu",
    rtol: float | None = None,
    atol: float | None = None,
    gradcheck: bool = False,
    hessian: bool = False,
) -> VerifyReport:
    """Compare gradcli with torch autograd on ``expression`` at ``point`` (the built-in suite when
    ``expression`` is None). Several expressions (the outputs of a Jacobian) give one case per
    output, a row of the Jacobian each, at the same point."""
    side = torch_side(dtype, device)
    r, a, note = resolve_tolerances(dtype, rtol, atol)
    kw: dict[str, Any] = {"rtol": r, "atol": a, "gradcheck": gradcheck, "hessian": hessian}
    outputs: list[Expression] | None = None
    if expression is None:
        cases = suite(side, **kw)
    elif isinstance(expression, Expression):
        cases = [check_expression(expression, point or {}, side, **kw)]
    else:
        outputs = list(expression)
        names = list(dict.fromkeys(n for e in outputs for n in e.variables))
        full = check_names(names, point or {})
        cases = [
            check_expression(
                e, {n: full[n] for n in e.variables}, side, name=f"output {i + 1}", **kw
            )
            for i, e in enumerate(outputs)
        ]
    report = VerifyReport(cases, dtype, device, r, a, suite=expression is None, gradcheck=gradcheck)
    report.hessian = hessian
    if outputs is not None:
        report.jacobian = True
    if note:
        report.notes.append(note)
    if gradcheck:
        report.notes.append(
            "gradcheck: torch.autograd.gradcheck, run in float64 (it needs double precision), "
            "compares torch's analytic gradient with finite differences"
            + ("; gradgradcheck does the same for its second derivatives" if hessian else "")
        )
    if hessian:
        report.notes.append(
            "Hessian: gradcli's reverse over reverse (the backward pass built of Values) against "
            f"torch.autograd.functional.hessian in {dtype}; the upper triangle (H is symmetric)"
        )
    return report
