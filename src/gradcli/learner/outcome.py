"""A run that gave no numbers, judged: an exception blamed on the learner's method whose frame
raised it, a form the class does not support yet (a todo, never a failure of another op), a
hang or a crash blamed on the part that was running."""

from __future__ import annotations

import re
from typing import Any

from gradcli.learner import diagnose as dg
from gradcli.learner.programs import (
    REFLECTED_SYMBOL,
    Program,
    blame_label,
    op_of_method,
)
from gradcli.learner.report import Check
from gradcli.learner.runner import Outcome

_UNSUPPORTED = re.compile(r"unsupported operand type\(s\) for ([^:]+): '(\w+)' and '(\w+)'")
_NUMBER_ATTR = re.compile(r"'(float|int)' object has no attribute '(\w+)'")
_NO_ATTR = re.compile(r"'(\w+)' object has no attribute '(\w+)'")


def unsupported(err: dict[str, Any], prog: Program | None, class_name: str) -> str | None:
    """When the exception says a form is not written yet (``1.5 + a`` without ``__radd__``,
    numbers not wrapped, ``Value.exp`` missing, an exponent that must be a number), what is
    missing, in words; None when it is a real fault."""
    kind = err.get("type", "")
    msg = err.get("message", "")
    method = err.get("method")
    form = prog.form if prog is not None else ""
    number_form = form in ("vc", "cv", "sum") or (prog is not None and prog.op == "powv")
    powv = prog is not None and prog.key == "powv" and method in ("__pow__", None)
    if kind in ("AssertionError", "TypeError", "ValueError") and powv:
        return f"__pow__ takes only a number as the exponent ({class_name} ** number)"
    m = _UNSUPPORTED.search(msg)
    if kind == "TypeError" and m:
        sym, left, right = (g.strip() for g in m.groups())
        if left in ("int", "float") and right == class_name:
            rev = next((k for k, v in REFLECTED_SYMBOL.items() if v == sym.split()[0]), None)
            if rev is not None:
                return f"{left} {sym} {class_name} needs {rev}, not written yet"
        if right in ("int", "float") or left in ("int", "float"):
            who = f" in {method}" if method else ""
            return f"{class_name} {sym} number is not supported yet{who}"
        if number_form and right == class_name:
            return f"{class_name} {sym} {class_name} is not supported yet"
    mm = _NUMBER_ATTR.search(msg)
    if kind == "AttributeError" and mm and number_form:
        who = method or "the method"
        return (
            f"{who} does not turn numbers into {class_name}s yet (a plain {mm.group(1)} has no "
            f".{mm.group(2)}): other = other if isinstance(other, {class_name}) else "
            f"{class_name}(other)"
        )
    mn = _NO_ATTR.search(msg)
    if kind == "AttributeError" and mn and mn.group(1) == class_name:
        return f"{class_name}.{mn.group(2)} is not written yet"
    return None


def _other_signature(err: dict[str, Any], target: str) -> bool:
    """A function with gradcli's name but another signature (a set's symmetric_difference, a
    forward_difference over vectors): Python's own TypeError at the call, not a bug inside."""
    msg = err.get("message", "")
    if err.get("type") != "TypeError":
        return False
    at_call = target + "()" in msg and ("positional argument" in msg or "keyword argument" in msg)
    if at_call and (err.get("where") or {}).get("function") in (None, "", "<module>"):
        return True
    # a vector version (forward_difference(f, x0, h) with len(x0)): given a number, it says so
    return bool(_WANTS_VECTOR.search(msg))


_WANTS_VECTOR = re.compile(
    r"object of type '(float|int)' has no len\(\)"
    r"|'(float|int)' object is not (subscriptable|iterable)"
)


def error_blame(
    err: dict[str, Any], op: str | None, phase: str, target: str = "your code"
) -> tuple[str, str | None]:
    """Who an exception is blamed on: the learner's method whose frame raised it (its op when
    it has one), else the op being checked. Returns (blame label, the method)."""
    method = err.get("method")
    if (
        phase == "construct"
        or method == "__init__"
        or "__init__() missing" in err.get("message", "")
    ):
        return "__init__", "__init__"
    if err.get("ours") or not method:
        return (op or target), None
    if phase == "backward" and op_of_method(method) is None:
        return "backward", method
    mop = op_of_method(method)
    if mop is not None:
        return blame_label(mop, method), method
    return method, method


def part_blame(part: str) -> str | None:
    """What a stopped part means to the learner: ``forward:mul`` -> ``mul``."""
    if part == "backward":
        return "backward"
    if part == "construct":
        return "__init__"
    if part.startswith(("forward:", "_backward:", "fn:")) and not part.count(":") > 1:
        return part.split(":", 1)[1]
    return None


def outcome_check(
    target: str,
    op: str | None,
    name: str,
    o: Outcome,
    want: float | None,
    prog: Program | None,
    class_name: str = "Value",
    method: str | None = None,
) -> Check:
    """The check for a run that gave no numbers: an exception, a hang, a crash, not run."""
    if o.status == "error":
        err = o.error or {}
        if err.get("type") == "NotImplementedError":
            return Check(
                target,
                op,
                name,
                "todo",
                want,
                message=f"not written yet: {dg.todo_text(err)}",
                blame=op,
                traceback=err.get("traceback", ""),
                todo=dg.todo_what(err),
                method=method,
            )
        missing = unsupported(err, prog, class_name)
        if missing is None and prog is None and _other_signature(err, target):
            return Check(
                target,
                op,
                name,
                "skipped",
                want,
                message=(
                    f"not checked: {target} is written for other arguments than the "
                    f"exercise's, which gradcli passes ({err.get('message', '')})"
                ),
                method=method,
            )
        if missing is not None:
            return Check(
                target,
                op,
                name,
                "todo",
                want,
                message=f"not supported yet: {missing}",
                blame=op,
                todo=missing,
                method=method,
            )
        if err.get("changed"):
            leaf, attr = err["changed"]
            who = method or (op or "the operation")
            return Check(
                target,
                op,
                name,
                "fail",
                want,
                message=f"computing {name} changed the input {leaf}.{attr}",
                hint=(
                    f"{who} sets self.{attr}: it belongs on the result (out.{attr} = ...); "
                    "set on the input, it is overwritten when the input is used again and a "
                    "gradient is lost"
                ),
                blame=blame_label(op, method),
                method=method,
            )
        text = dg.error_text(err)
        hint = dg.exception_hint(err, name, prog) or f"{name}: {text}"
        blame, raised_in = error_blame(err, op, o.phase, target)
        if blame == "__init__":
            hint = (
                f"{class_name}(2.0) {text}: gradcli makes each input as {class_name}(number); "
                "give the constructor's other arguments defaults, as micrograd does"
            )
        elif raised_in and op_of_method(raised_in) is None and raised_in != method:
            hint = f"{raised_in}: {text}"
        return Check(
            target,
            op,
            name,
            "fail",
            want,
            message=text,
            hint=hint,
            blame=blame,
            traceback=err.get("traceback", ""),
            method=method,
        )
    if o.status == "not_run":
        return Check(
            target,
            op,
            name,
            "not_run",
            want,
            message=o.reason,
            consequence_of=part_blame(o.part),
            blame=op or target,
            method=method,
        )
    # a hang or a crash: blame the part that was running
    blame = "backward" if o.phase == "backward" else blame_label(op, method) if op else target
    hint = f"{name}: {o.reason}"
    if o.status == "timeout":
        if o.phase == "backward":
            hint += (
                ": backward() never returns; look for a loop that never ends (a while loop whose "
                "list never empties, a visited set that is never added to)"
            )
        elif o.phase == "_backward":
            hint += f": {op}'s _backward never returns"
        else:
            hint += ": it never returns (an endless loop, or an endless recursion?)"
    return Check(
        target, op, name, "fail", want, message=o.reason, hint=hint, blame=blame, method=method
    )
