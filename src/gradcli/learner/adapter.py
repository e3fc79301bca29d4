"""Whatever the learner named things: the class, its number, its gradient, its inputs, the
per-node step and the backward method, found by behaviour in the child process.

The lecture's names (``Value``, ``.data``, ``.grad``, ``_prev``, ``_backward``, ``backward()``)
are tried first, then other common ones, then anything that behaves the part: the attribute
that holds 2.0 after ``C(2.0)``, the collection on ``a + b`` that holds ``a`` and ``b`` *by
identity*. A role that cannot be resolved is a **gap in coverage**, said in the header and the
JSON, never a failure of the learner's code. The command line may name any role
(``--attr grad=g``).
"""

from __future__ import annotations

import contextlib
import inspect
import math
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

#: the roles, in the order they are resolved
ROLES = ("class", "construct", "data", "grad", "children", "op", "step", "backward")

DATA_NAMES = ("data", "value", "val", "_data", "_value", "x", "v", "item", "number", "scalar")
GRAD_NAMES = ("grad", "gradient", "_grad", "g", "grad_value", "dx", "d", "partial", "adjoint")
CHILD_NAMES = (
    "_prev",
    "_children",
    "children",
    "prev",
    "_parents",
    "parents",
    "operands",
    "_operands",
    "inputs",
    "_inputs",
    "srcs",
    "sources",
    "deps",
)
OP_NAMES = ("_op", "op", "operation", "_operation", "_op_name", "opname", "kind")
STEP_NAMES = (
    "_backward",
    "_backprop",
    "_back",
    "backward_fn",
    "_backward_fn",
    "grad_fn",
    "_grad_fn",
    "backprop_fn",
    "_local_backward",
    "backward_step",
    "_backward_step",
    "_chain",
)
BACKWARD_NAMES = (
    "backward",
    "backprop",
    "backProp",
    "back_prop",
    "backpropagate",
    "backward_pass",
    "backwards",
    "Backward",
    "run_backward",
    "backpropagation",
)
CLASS_NAMES = ("Value", "Node", "Scalar", "Var", "Variable", "Tensor", "Number", "Val")

_ARITH = ("__add__", "__mul__", "__sub__", "__truediv__", "__pow__")


class AdapterError(Exception):
    """A role the checks need is missing; the message is the plain question it raises."""


@dataclass
class Adapter:
    """How to work the learner's class: each role as a name, and the gaps in words."""

    cls: Any
    names: dict[str, str] = field(default_factory=dict)  # role -> the learner's name
    gaps: dict[str, str] = field(default_factory=dict)  # role -> why it is not known
    notes: list[str] = field(default_factory=list)
    init_grad: float | None = None  # a fresh node's grad, when it is not 0
    precision: str = "float64"  # "float32" when the number is stored in single precision
    extra: dict[str, Any] = field(default_factory=dict)  # the constructor's other arguments

    # ---- working the class ---------------------------------------------------------------------
    def make(self, x: float) -> Any:
        return self.cls(x, **self.extra)

    def data(self, v: Any) -> Any:
        return getattr(v, self.names["data"])

    def grad(self, v: Any) -> Any:
        name = self.names.get("grad")
        if name is None:
            raise AdapterError(self.gaps.get("grad", "which attribute holds the gradient?"))
        return getattr(v, name)

    def set_grad(self, v: Any, g: float) -> None:
        name = self.names.get("grad")
        if name is None:
            raise AdapterError(self.gaps.get("grad", "which attribute holds the gradient?"))
        setattr(v, name, g)

    def is_node(self, v: Any) -> bool:
        return isinstance(v, self.cls) or hasattr(v, self.names.get("data", "data"))

    def children(self, v: Any) -> list[Any]:
        name = self.names.get("children")
        if name is None:
            return []
        kids = getattr(v, name, None)
        if kids is None or callable(kids) or isinstance(kids, (str, bytes)):
            return []
        try:
            return [k for k in kids if self.is_node(k)]
        except TypeError:
            return []

    def has_graph(self) -> bool:
        return "children" in self.names

    def op(self, v: Any) -> str:
        name = self.names.get("op")
        return str(getattr(v, name, "") if name else "")[:40]

    def step(self, v: Any) -> Callable[[], Any] | None:
        name = self.names.get("step")
        fn = getattr(v, name, None) if name else None
        return fn if callable(fn) else None

    def set_step(self, v: Any, fn: Callable[[], Any]) -> None:
        setattr(v, self.names["step"], fn)

    def backward(self, v: Any) -> Any:
        name = self.names.get("backward")
        if name is None:
            raise AdapterError(self.gaps.get("backward", "which method runs backpropagation?"))
        return getattr(v, name)()

    def describe(self) -> dict[str, Any]:
        return {
            "class": self.cls.__name__,
            "names": dict(self.names),
            "gaps": dict(self.gaps),
            "notes": list(self.notes),
            "init_grad": self.init_grad,
            "precision": self.precision,
        }


# ---- finding the class -------------------------------------------------------------------------


def _own_arith(cls: type) -> bool:
    return any(
        name in vars(k) for k in cls.__mro__ if k is not object for name in _ARITH
    ) and not any(k.__name__ == "Function" and "autograd" in k.__module__ for k in cls.__mro__)


def _patched_here(cls: type, filenames: set[str]) -> bool:
    """Has the learner's code added methods to a class it imported (``Value.exp = exp``)?"""
    for attr in vars(cls).values():
        code = getattr(attr, "__code__", None)
        if code is not None and code.co_filename in filenames:
            return True
    return False


def _from_beside(cls: type, beside: Callable[[str], bool] | None) -> bool:
    """Was ``cls`` imported from a file of the learner's own (``from micrograd import Value``
    where micrograd.py sits beside the notebook), never from an installed package?"""
    if beside is None:
        return False
    mod = sys.modules.get(getattr(cls, "__module__", ""), None)
    path = getattr(mod, "__file__", None)
    return bool(path) and "site-packages" not in str(path) and beside(str(path))


def find_class(
    module: ModuleType,
    filenames: set[str],
    class_name: str | None,
    beside: Callable[[str], bool] | None = None,
) -> tuple[type | None, list[str]]:
    """The class to check: ``class_name``; else ``Value`` when the learner's code defines,
    extends or imports it from a file of their own; else the one class with arithmetic dunders.
    Returns it and notes."""
    ns = vars(module)
    if class_name is not None:
        cls = ns.get(class_name)
        return (cls if isinstance(cls, type) else None), []
    mine = [
        v
        for v in ns.values()
        if isinstance(v, type)
        and (
            getattr(v, "__module__", None) == module.__name__
            or _patched_here(v, filenames)
            or _from_beside(v, beside)
        )
    ]
    value = ns.get("Value")
    if isinstance(value, type) and value in mine:
        return value, []
    arith = [c for c in dict.fromkeys(mine) if _own_arith(c)]
    if not arith:
        return None, []
    if len(arith) == 1:
        return arith[0], []

    def score(c: type) -> tuple[int, int]:
        has_back = any(callable(getattr(c, n, None)) for n in BACKWARD_NAMES)
        named = CLASS_NAMES.index(c.__name__) if c.__name__ in CLASS_NAMES else len(CLASS_NAMES)
        return (0 if has_back else 1, named)

    arith.sort(key=score)
    others = ", ".join(c.__name__ for c in arith[1:])
    return arith[0], [
        f"several classes do arithmetic; checked {arith[0].__name__} (not {others}): "
        "give --class NAME to choose"
    ]


# ---- the roles ---------------------------------------------------------------------------------


def _number(x: Any) -> float | None:
    if isinstance(x, bool) or x is None or isinstance(x, (str, bytes)):
        return None
    try:
        f = float(x)
    except (TypeError, ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None


def _attrs(obj: Any) -> dict[str, Any]:
    """The instance's attributes: its __dict__ and its __slots__."""
    out: dict[str, Any] = {}
    with contextlib.suppress(TypeError):
        out.update(vars(obj))
    for k in type(obj).__mro__:
        for name in getattr(k, "__slots__", ()) or ():
            if isinstance(name, str) and name not in out and hasattr(obj, name):
                out[name] = getattr(obj, name)
    return out


def _extra_args(cls: type) -> dict[str, Any] | None:
    """Arguments for the constructor's other required parameters, or None if it takes one."""
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):
        return None
    params = [
        p
        for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is p.empty
    ]
    extra: dict[str, Any] = {}
    for p in params[1:]:
        low = p.name.lower()
        if any(w in low for w in ("child", "prev", "parent", "operand", "input", "src")):
            extra[p.name] = ()
        elif "op" in low or "label" in low or "name" in low:
            extra[p.name] = ""
        elif "grad" in low:
            extra[p.name] = 0.0
        else:
            extra[p.name] = None
    return extra


def resolve(
    cls: type,
    given: dict[str, str] | None = None,
    guard: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> Adapter:
    """Find every role of ``cls`` by behaviour; ``given`` names some (``{"grad": "g"}``).

    Exceptions raised by the learner's constructor or operators propagate: the caller reports
    them as what they are (a failure of ``__init__``, a method not written yet).
    """
    given = dict(given or {})
    a = Adapter(cls)
    a.names["class"] = cls.__name__
    try:
        with guard():
            v = cls(2.0)
    except TypeError as exc:
        extra = _extra_args(cls)
        if not extra:
            raise
        try:
            with guard():
                v = cls(2.0, **extra)
        except TypeError:
            raise exc from None
        a.extra = extra
        shown = ", ".join(f"{k}={val!r}" for k, val in extra.items())
        a.names["construct"] = f"{cls.__name__}(x, {shown})"
        a.notes.append(
            f"{cls.__name__}(x) needs more arguments: gradcli makes inputs as "
            f"{a.names['construct']} (give them defaults to make this unnecessary)"
        )
    else:
        a.names["construct"] = f"{cls.__name__}(x)"
    attrs = _attrs(v)

    # the number: the attribute that holds 2.0
    data = given.get("data")
    if data is None:
        data = next((n for n in DATA_NAMES if _number(attrs.get(n)) == 2.0), None)
    if data is None:
        data = next((n for n, x in attrs.items() if _number(x) == 2.0), None)
    if data is None:
        a.gaps["data"] = (
            f"no attribute of {cls.__name__}(2.0) holds 2.0: which attribute holds the number? "
            "(give --attr data=NAME)"
        )
        return a
    a.names["data"] = data
    stored = getattr(v, data, None)
    kind = str(getattr(stored, "dtype", type(stored).__name__))
    if "float32" in kind or "float16" in kind or "bfloat16" in kind:
        a.precision = "float32"
        a.notes.append(
            f"{cls.__name__} stores its number as {kind.split('.')[-1]}: values are compared to "
            "single precision (about 7 digits)"
        )

    # the gradient: a number beside it, by name
    grad = given.get("grad")
    if grad is None:
        grad = next(
            (n for n in GRAD_NAMES if n != data and _number(attrs.get(n)) is not None), None
        )
    if grad is None:
        grad = next(
            (n for n, x in attrs.items() if "grad" in n.lower() and _number(x) is not None), None
        )
    if grad is None:
        a.gaps["grad"] = (
            f"no attribute of {cls.__name__}(2.0) looks like its gradient (grad, gradient, ...): "
            "no gradient was checked (give --attr grad=NAME)"
        )
    else:
        a.names["grad"] = grad
        g0 = _number(getattr(v, grad, None))
        if g0 is not None and g0 != 0.0:
            a.init_grad = g0

    # the inputs: on a + b (or a * b), the collection that holds a and b themselves
    out = None
    endless = False
    unwritten = False  # the operators raise NotImplementedError (a starter file)
    functional = ""
    x, y = a.make(2.0), a.make(-3.0)
    for op in (lambda p, q: p + q, lambda p, q: p * q, lambda p, q: p - q):
        try:
            with guard():
                out = op(x, y)
            break
        except BaseException as exc:  # a broken or endless operator: the checks' business
            if type(exc).__name__ == "UnitTimeout":
                endless = True
                break  # one endless operator is enough to wait for
            unwritten = unwritten or isinstance(exc, NotImplementedError)
            continue
    if out is not None and not isinstance(out, cls):
        out = None
    if out is not None:
        oattrs = _attrs(out)
        kids = given.get("children")
        if kids is None:
            ordered = [n for n in CHILD_NAMES if n in oattrs] + [
                n for n in oattrs if n not in CHILD_NAMES
            ]
            for n in ordered:
                val = oattrs[n]
                if isinstance(val, (str, bytes, dict)) or val is None or callable(val):
                    continue
                try:
                    items = list(val)
                except TypeError:
                    continue
                ids = {id(k) for k in items}
                if id(x) in ids and id(y) in ids:
                    kids = n
                    break
        if kids is not None:
            a.names["children"] = kids
        op_attr = given.get("op") or next(
            (n for n in OP_NAMES if isinstance(oattrs.get(n), str)), None
        )
        if op_attr is not None:
            a.names["op"] = op_attr
        step = given.get("step")
        if step is None:
            step = next((n for n in STEP_NAMES if callable(getattr(out, n, None))), None)
        if step is None:
            bw = set(BACKWARD_NAMES)
            step = next(
                (
                    n
                    for n, f in oattrs.items()
                    if callable(f)
                    and not isinstance(f, type)
                    and n not in bw
                    and ("back" in n.lower() or "grad" in n.lower())
                ),
                None,
            )
        if step is not None and not _no_arguments(getattr(out, step, None)):
            functional = step
            step = None
        if step is not None:
            a.names["step"] = step
    if out is None and unwritten:
        a.gaps["children"] = (
            "a + b and a * b are not written yet: the nodes' inputs and per-node step are "
            "looked for once they are"
        )
    elif "children" not in a.names and endless:
        a.gaps["children"] = (
            "a + b did not finish while gradcli looked for a node's inputs: the graph's shape "
            "was not checked"
        )
    elif "children" not in a.names:
        a.gaps["children"] = (
            "no attribute of a + b holds a and b (as _prev does): the graph's shape was not "
            "checked (give --attr children=NAME)"
        )
    if out is None and unwritten:
        pass  # said once, above
    elif "step" not in a.names and functional:
        a.gaps["step"] = (
            f"the nodes' {functional} takes arguments (a functional style): each rule was "
            "checked through backward() only"
        )
    elif "step" not in a.names:
        a.gaps["step"] = (
            "the nodes have no per-node step (as micrograd's _backward): each rule was checked "
            "through backward() only"
        )

    back = given.get("backward")
    if back is None:
        back = next((n for n in BACKWARD_NAMES if callable(getattr(cls, n, None))), None)
    if back is None:
        stepname = a.names.get("step")
        back = next(
            (
                n
                for n in dir(cls)
                if not n.startswith("_")
                and n != stepname
                and "back" in n.lower()
                and callable(getattr(cls, n, None))
            ),
            None,
        )
    if back is None:
        a.gaps["backward"] = (
            f"{cls.__name__} has no backward() (nor backprop(), ...): only the values and each "
            "node's own step were checked"
        )
    else:
        a.names["backward"] = back
    if "backward" in a.gaps and "step" in a.gaps:  # one line, not two that contradict
        del a.gaps["step"]
        a.gaps["backward"] = (
            f"{cls.__name__} has no backward() and its nodes no per-node step (as micrograd's "
            "_backward): only the values were checked"
        )
    return a


def _no_arguments(fn: Any) -> bool:
    """Can ``fn`` be called with no arguments (as micrograd's ``_backward`` is)?"""
    try:
        inspect.signature(fn).bind()
    except TypeError:
        return False
    except ValueError:  # no signature to read (a builtin): assume it can
        return True
    return True


def default(cls: type) -> Adapter:
    """The lecture's names, for gradcli's own Value (and as a fallback)."""
    a = Adapter(cls)
    a.names.update(
        {
            "class": cls.__name__,
            "construct": f"{cls.__name__}(x)",
            "data": "data",
            "grad": "grad",
            "children": "_prev",
            "op": "_op",
            "step": "_backward",
            "backward": "backward",
        }
    )
    return a
