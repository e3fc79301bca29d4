"""Judge ``torch.autograd.Function`` subclasses: runs in the PARENT, turns data into Checks.

:mod:`gradcli.learner.tensor_probe` (in the child) returns plain data: the shapes it used, the
numerical reference of the user's own ``forward`` (float64, adaptive differences, with its error
estimate), and the raw results of the user's ``backward``. Here they become
:class:`report.Check` objects, each failure with a diagnosis in words from :data:`MISTAKES`.

No torch here; numpy only inside functions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gradcli.learner.diagnose import error_text, num
from gradcli.learner.report import Check
from gradcli.learner.runner import Outcome, Session
from gradcli.learner.tensor_probe import EXAMPLES_NAME, MAX_FAMILIES, SCALE


@dataclass(frozen=True)
class Mistake:
    """One entry of the catalogue: its key (for tests and JSON), a title, the message template
    (``{method}``, ``{arg}`` and the entry's own fields) and the fix."""

    key: str
    title: str
    text: str
    fix: str = ""


#: the mistake catalogue: what gradcli recognises in a hand-written backward, in words
MISTAKES: dict[str, Mistake] = {
    m.key: m
    for m in (
        Mistake("factor", "a constant factor",
                "the gradient of {arg} is off by a factor of {factor} everywhere (you return "
                "{factor} times the right value)",
                "look for a missing or extra constant (the 2 of x**2, a 1/n of a mean)"),
        Mistake("sign", "a sign",
                "the gradient of {arg} has the wrong sign everywhere (you return -1 times the "
                "right value)", "check the sign of the derivative you wrote"),
        Mistake("zero", "zero",
                "the gradient of {arg} is zero everywhere; it should not be",
                "return the gradient, not zeros (and not a tensor that is never filled in)"),
        Mistake("ignores_grad_out", "ignores grad_out",
                "the gradient of {arg} does not change when grad_out is scaled by {scale}: "
                "backward ignores grad_out{ones}",
                "multiply the local derivative by grad_out (the chain rule)"),
        Mistake("not_linear", "not linear in grad_out",
                "scaling grad_out by {scale} does not scale the gradient of {arg} by {scale}",
                "backward must be linear in grad_out: use it once, as a factor"),
        Mistake("diagonal_only", "only the diagonal",
                "only the diagonal of the Jacobian is right for {arg}: the gradient equals "
                "diag(J) * grad_out, the cross terms (output i depends on input j) are missing",
                "for softmax-like ops: grad_x = y * (grad_out - (grad_out * y).sum(dim, "
                "keepdim=True))"),
        Mistake("other_product", "the wrong product",
                "the gradient of {arg} equals {yours}; {right} matches the numerical gradient",
                "use {right}"),
        Mistake("shape_error", "a shape error (a missing transpose?)",
                "{error}; {products}", ""),
        Mistake("reduction_dim", "a reduction over the wrong dimension",
                "the gradient of {arg} has shape {got_shape}: grad_out summed over dim "
                "{got_dim}; {arg} has shape {shape}, so grad_out must be summed over dim "
                "{want_dims}{batch}", "grad_out.sum({want_sum})"),
        Mistake("wrong_shape", "a gradient of the wrong shape",
                "the gradient of {arg} has shape {got_shape}, {arg} has shape {shape}: torch "
                "rejects it ('invalid gradient at index {index}')", "return a tensor of {arg}'s "
                "shape{products}"),
        Mistake("count", "the number of gradients",
                "{method} returns {count} value{s} for {n} inputs ({names})",
                "return one gradient per argument of forward, None for each non-tensor argument"),
        Mistake("none_for_tensor", "None for a tensor",
                "{method} returns None for {arg}: not checked, treated as a constant (forward "
                "does depend on it: if {arg} ever needs a gradient, torch will use zero)",
                "return the gradient of {arg} if it can need one"),
        Mistake("grad_for_value", "a gradient for a non-tensor argument",
                "{method} returns {what} for {arg}, which is not a tensor (torch raises 'returned "
                "a gradient different than None')", "return None in its place"),
        Mistake("not_tensor", "not a tensor",
                "{method} returns {what} for {arg}, not a tensor", "return a tensor (or None)"),
        Mistake("dtype", "the wrong dtype",
                "the gradient of {arg} is {got}, {arg} is {want} (torch casts it back silently, "
                "after the precision is lost)", "compute it in {arg}'s dtype ({want})"),
        Mistake("device", "the wrong device",
                "the gradient of {arg} is on {got}, {arg} is on {want} (torch rejects it)",
                "create tensors with device={arg}.device (torch.zeros_like({arg}), ...)"),
        Mistake("inplace_saved", "a saved tensor modified in place",
                "{what} saved with ctx.save_for_backward was modified in place after it was "
                "saved{error}", "save a copy (.clone()) or use an out-of-place operation"),
        Mistake("forward_mutates", "forward changes its input",
                "forward modifies its input {arg} in place (the caller's tensor changes)",
                "use out-of-place operations on inputs (x = x * 2, not x.mul_(2)), or "
                "ctx.mark_dirty({arg}) and return it"),
        Mistake("backward_mutates", "backward changes a saved input",
                "backward modifies {arg} in place (a saved input: the caller's tensor changes, "
                "and a second backward gives another answer)", "use out-of-place operations"),
        Mistake("no_double", "backward has no graph",
                "backward is right, but backward of backward is silently wrong: {why}",
                "save the inputs with ctx.save_for_backward and compute from them, or mark "
                "backward @once_differentiable so that torch refuses instead"),
        Mistake("mismatch", "a mismatch",
                "the gradient of {arg} is wrong {pattern}; the largest differences (index: "
                "expected, got): {worst}", ""),
    )
}  # fmt: skip

_SHAPE_ERROR = re.compile(
    r"shapes cannot be multiplied|size mismatch|must match the size|cannot be broadcast|"
    r"Expected size|doesn't match the broadcast shape|inconsistent tensor size|"
    r"mat1 and mat2|size of tensor a|invalid for input of size|dimension specified as"
)


def _shape(s: Sequence[int] | None) -> str:
    if s is None:
        return "?"
    return "(" + ", ".join(str(d) for d in s) + ("," if len(s) == 1 else "") + ")"


def _args_text(args: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for a in args:
        if a["kind"] == "tensor":
            dt = "" if a["dtype"] == "float64" else f" {a['dtype']}"
            parts.append(f"{a['name']} {_shape(a['shape'])}{dt}")
        else:
            parts.append(f"{a['name']}={a['repr']}")
    return ", ".join(parts)


def _factor_text(c: float) -> str:
    for d in (1, 2, 3, 4, 5, 6, 8, 10):
        n = c * d
        if abs(n - round(n)) < 1e-6 * max(1.0, abs(n)) and round(n) != 0:
            return str(round(n)) if d == 1 else f"{round(n)}/{d}"
    return f"{c:.4g}"


def _say(key: str, **fields: Any) -> tuple[str, str]:
    m = MISTAKES[key]
    return m.text.format(**fields), m.fix.format(**fields)


# ---- running the probes ------------------------------------------------------------------------


def check_functions(
    session: Session,
    names: Sequence[str],
    shapes: Mapping[str, list[list[int]]] | None = None,
    double: bool = False,
    device: str = "cpu",
) -> tuple[list[Check], list[str]]:
    """Every Function in ``names``: find inputs, then check each family that runs.

    ``shapes``: ``--shapes`` (by Function name, ``"*"`` for all); the checks and the notes (which
    shapes were used, what the reference's error is).
    """
    checks: list[Check] = []
    notes: list[str] = [
        f"--shapes {k}:...: this file defines no Function named {k} (it defines {', '.join(names)})"
        for k in (shapes or {})
        if k != "*" and k not in names
    ]
    for name in names:
        c, n = check_function(session, name, _shapes_for(shapes, name), double, device)
        checks += c
        notes += n
    return checks, notes


def _shapes_for(shapes: Mapping[str, list[list[int]]] | None, name: str) -> list[list[int]] | None:
    if not shapes:
        return None
    return shapes.get(name, shapes.get("*"))


def check_function(
    session: Session,
    name: str,
    shapes: list[list[int]] | None,
    double: bool,
    device: str,
) -> tuple[list[Check], list[str]]:
    fwd, bwd = f"tensor:{name}.forward", f"tensor:{name}.backward"
    req = {"kind": "tensor_function", "mode": "find", "name": name, "shapes": shapes}
    req["device"] = device
    o = session.call(req, [fwd], {"forward": fwd}, label=f"{name}.forward")
    if not o.ok:
        return [_outcome(name, f"{name}: finding inputs", o, session.timeout)], []
    found = o.result
    good = [f for f in found["families"] if f.get("ok") and f.get("finite")]
    if not good:
        return [_no_inputs(name, found)], []
    checks: list[Check] = []
    notes: list[str] = []
    used: list[str] = []
    skipped: list[str] = []
    worst_error = 0.0
    for k, fam in enumerate(good[:MAX_FAMILIES]):
        primary = k == 0
        ask = {"kind": "tensor_function", "mode": "check", "name": name, "family": fam}
        ask.update(double=double, device=device)
        parts = {
            "forward": fwd,
            "reference": fwd,
            "backward": bwd,
            "double_backward": f"tensor:{name}.double",
        }
        label = f"{name} at {fam['words']}"
        oc = session.call(ask, [fwd, bwd], parts, label=label)
        got, quiet, more = judge(name, fam, oc, primary, session.timeout)
        checks += got
        notes += [n for n in more if n not in notes]
        if not oc.ok:
            continue
        at = _args_text(oc.result["args"]) + (" (positive values)" if fam.get("positive") else "")
        if quiet:
            skipped.append(at)
            continue
        used.append(at)
        for e in (oc.result.get("reference") or {}).get("error", []):
            if e is not None:
                worst_error = max(worst_error, e)
    if used:
        src = {"examples": f"from {EXAMPLES_NAME}", "shapes": "from --shapes"}
        how = src.get(found["source"], "found by trying shape families")
        notes.append(
            f"{name}: checked at {'; '.join(used)} ({how}); expected values: the float64 "
            f"numerical derivative of your forward, estimated error at most "
            f"{max(worst_error, 1e-16):.0e}"
        )
    if skipped:
        notes.append(
            f"{name}: forward also runs at {'; '.join(skipped)}, where backward fails or gives "
            "the wrong shape (not counted: it may not be meant for those shapes)"
        )
    return checks, notes


def _no_inputs(name: str, found: Mapping[str, Any]) -> Check:
    tried = "; ".join(
        f"{', '.join(_shape(s) for s in f['shapes'])}: {f.get('error') or 'not finite'}"
        for f in found["families"][:4]
    )
    example = f'{EXAMPLES_NAME} = {{"{name}": lambda: (torch.randn(3, 4), ...)}}'
    given = found["source"] != "search"
    return Check(
        name,
        name,
        f"{name}.forward: inputs",
        "fail" if given else "not_run",
        blame=f"{name}.forward",
        message=f"forward runs at none of the shapes tried ({tried})",
        hint=f"{name}: forward runs at none of the shapes gradcli tried; give inputs with "
        f"{example} in the file, or --shapes 3x4,4x5",
    )


def _outcome(name: str, label: str, o: Outcome, timeout: float) -> Check:
    """A probe that gave no data: an exception, a hang, a crash, or not run."""
    method = {"backward": "backward", "double_backward": "backward"}.get(o.phase, "forward")
    blame = f"{name}.{method}"
    if o.status == "not_run":
        return Check(name, name, label, "not_run", message=o.reason, blame=blame,
                     consequence_of=o.part.removeprefix("tensor:") or None)  # fmt: skip
    if o.status == "error":
        err = o.error or {}
        status = "todo" if err.get("type") == "NotImplementedError" else "fail"
        text = f"{blame} {error_text(err)}"
        return Check(name, name, label, status, message=text, hint=text, blame=blame,
                     traceback=err.get("traceback", ""))  # fmt: skip
    if o.status == "timeout":
        text = f"{blame} did not finish within {timeout:g} s (an endless loop?)"
    else:
        text = f"{blame}: {o.reason}"
    return Check(name, name, label, "fail", message=text, hint=text, blame=blame)


# ---- judging one family ------------------------------------------------------------------------


def judge(
    name: str, fam: Mapping[str, Any], o: Outcome, primary: bool, timeout: float = 10.0
) -> tuple[list[Check], str, list[str]]:
    """The checks for one family's data, why a secondary family is left out ("" when it is
    not), and notes."""
    if not o.ok:
        args = o.known.get("args")
        at = _args_text(args) if args else fam["words"]
        return [_outcome(name, f"{name} at {at}", o, timeout)], "", []
    j = _Judge(name, o.result, primary)
    checks, quiet = j.run()
    return checks, quiet, j.notes


class _Judge:
    def __init__(self, name: str, data: Mapping[str, Any], primary: bool) -> None:
        self.name = name
        self.data = data
        self.primary = primary
        self.args = data["args"]
        self.at = _args_text(self.args)
        self.method = f"{name}.backward"
        self.grad_idx = [i for i, a in enumerate(self.args) if a["kind"] == "tensor" and a["grad"]]
        self.ref = data.get("reference")
        self.out0 = next((o for o in data["outputs"] if o["differentiable"]), None)
        diff_pos = [k for k, o in enumerate(data["outputs"]) if o["differentiable"]]
        self.v = data["grad_out"][diff_pos[0]] if diff_pos else []
        self.single_out = len(diff_pos) == 1
        self.shape_failed = False
        self.notes: list[str] = []

    def check(self, label: str, status: str, message: str, hint: str = "", **kw: Any) -> Check:
        """One Check of this Function's ``backward`` (``blame`` unless given) at these inputs."""
        name = f"{self.method}: {label} at {self.at}"
        kw.setdefault("blame", self.method)
        return Check(
            self.name, self.name, name, status, message=message,
            hint=f"{label} at {self.at}: {message}" + (f"; {hint}" if hint else "")
            if status == "fail"
            else None,
            **kw,
        )  # fmt: skip

    def run(self) -> tuple[list[Check], str]:
        checks: list[Check] = []
        saved = self.data.get("saved_mutated", [])
        for what in saved:
            msg, fix = _say("inplace_saved", what=what, error=" (backward sees the new values)")
            checks.append(self.check("saved tensors", "fail", msg, fix,
                                     blame=f"{self.name}.forward"))  # fmt: skip
        for arg in self.data.get("forward_mutates", []):
            if any(f"({arg})" in w for w in saved):
                continue
            msg, fix = _say("forward_mutates", arg=arg)
            checks.append(self.check("forward", "fail", msg, fix, blame=f"{self.name}.forward"))
        runs = self.data["backward"]
        first = runs[0]
        if "error" in first:
            c = self._error(first["error"])
            if c is None:
                return checks, "backward fails"
            return [*checks, c], ""
        for arg in self.data.get("backward_mutates", []):
            msg, fix = _say("backward_mutates", arg=arg)
            checks.append(self.check("saved inputs", "fail", msg, fix))
        n = len(self.args)
        count = first["count"]
        extra = first["grads"][n:]
        if count < n or any(g["kind"] != "none" for g in extra):
            names = ", ".join(a["name"] for a in self.args)
            msg, fix = _say("count", method=self.method, count=count, s="" if count == 1 else "s",
                            n=n, names=names)  # fmt: skip
            return [*checks, self.check("number of gradients", "fail", msg, fix)], ""
        second = runs[1] if len(runs) > 1 else None
        if second is not None and "error" in second:  # the first call changed what the second sees
            err = second["error"]
            if "modified by an inplace operation" in err.get("message", ""):
                msg, fix = _say("inplace_saved", what="a tensor", error=" (in backward: a second "
                                "backward raises " + _clip(err["message"], 120) + ")")  # fmt: skip
            else:
                msg, fix = f"a second call of {self.method} {error_text(err)}", ""
            checks.append(self.check("called twice", "fail", msg, fix))
            second = None
        offset = 0
        quiet = ""
        for i, a in enumerate(self.args):
            g = first["grads"][i]
            if a["kind"] != "tensor":
                if g["kind"] != "none":
                    what = "a tensor" if g["kind"] == "tensor" else g.get("repr", "a value")
                    msg, fix = _say("grad_for_value", method=self.method, arg=a["name"], what=what)
                    checks.append(self.check(f"gradient of {a['name']}", "fail", msg, fix))
                continue
            if not a["grad"]:
                continue
            size = math.prod(a["shape"])
            ref = None
            err = None
            if self.ref:
                ref = self.ref["values"][offset : offset + size]
                err = self.ref["error"][offset : offset + size]
            col = (offset, offset + size)
            offset += size
            g2 = second["grads"][i] if second else None
            self.shape_failed = False
            c = self._one(i, a, g, g2, ref, err, col)
            if c is None:
                continue
            if not self.primary and c.status == "fail" and self.shape_failed:
                return [], "wrong shape"  # not meant for these shapes, maybe: none counted
            if saved and c.status == "fail":  # backward saw the changed tensor
                c.consequence_of = f"{self.name}.forward"
            checks.append(c)
        dbl = self.data.get("double")
        if dbl is not None and not quiet:
            if any(c.status != "pass" for c in checks):
                self.notes.append(f"{self.name}: backward of backward not checked at {self.at}: "
                                  "backward itself fails there")  # fmt: skip
            else:
                checks += self._double(dbl)
        return checks, quiet

    # -- a backward that raised
    def _error(self, err: dict[str, Any]) -> Check | None:
        msg = err.get("message", "")
        if err.get("type") == "NotImplementedError":
            return self.check("runs", "todo", f"not written yet: {error_text(err)}",
                              traceback=err.get("traceback", ""))  # fmt: skip
        if "modified by an inplace operation" in msg:
            text, fix = _say("inplace_saved", what="a tensor", error=": " + _clip(msg, 160))
            return self.check(
                "saved tensors", "fail", text, fix, traceback=err.get("traceback", "")
            )
        if _SHAPE_ERROR.search(msg):
            if not self.primary:
                return None
            products = self._products_text()
            text, fix = _say("shape_error", method=self.method, error=error_text(err),
                             products=products)  # fmt: skip
            return self.check("runs", "fail", text, fix, traceback=err.get("traceback", ""))
        if not self.primary:
            return None
        text = f"{self.method} {error_text(err)}"
        return self.check("runs", "fail", text, traceback=err.get("traceback", ""))

    def _products_text(self) -> str:
        """The products of grad_out and the saved tensors that have each input's shape, and the
        one that matches the reference."""
        cands = self.data.get("candidates") or {}
        parts = []
        offset = 0
        for i, a in enumerate(self.args):
            if a["kind"] != "tensor" or not a["grad"]:
                continue
            size = math.prod(a["shape"])
            ref = self.ref["values"][offset : offset + size] if self.ref else None
            offset += size
            found = cands.get(str(i), [])
            if not found:
                continue
            names = []
            for cand in found:
                match = ref is not None and _close_all(cand["values"], ref, 1e-6)
                names.append(cand["expr"] + (" (matches the numerical gradient)" if match else ""))
            parts.append(f"with {a['name']}'s shape {_shape(a['shape'])}: {', '.join(names)}")
        if not parts:
            return "check the shapes of the products in backward (a missing transpose?)"
        return "a missing transpose? products of grad_out and the saved tensors " + "; ".join(parts)

    # -- one input's gradient
    def _one(
        self,
        i: int,
        a: Mapping[str, Any],
        g: Mapping[str, Any],
        g2: Mapping[str, Any] | None,
        ref: list[float] | None,
        err: list[float | None] | None,
        col: tuple[int, int],
    ) -> Check | None:
        import numpy as np

        arg = a["name"]
        label = f"gradient of {arg}"
        if g["kind"] == "none":
            if ref is None or not any(abs(r) > 1e-12 for r in ref):
                return self.check(label, "pass", "None, and the numerical gradient is zero")
            # a deliberate "not differentiable here" (a mask, an index as floats): a note
            msg, _ = _say("none_for_tensor", method=self.method, arg=arg)
            if not any(n.endswith(msg) for n in self.notes):
                self.notes.append(f"{self.name}: {msg}")
            return None
        if g["kind"] != "tensor":
            msg, fix = _say("not_tensor", method=self.method, arg=arg, what=g.get("repr", "?"))
            return self.check(label, "fail", msg, fix)
        if g["device"].split(":")[0] != a["device"].split(":")[0]:
            msg, fix = _say("device", arg=arg, got=g["device"], want=a["device"])
            return self.check(label, "fail", msg, fix)
        if g["dtype"] != a["dtype"]:
            msg, fix = _say("dtype", arg=arg, got=g["dtype"], want=a["dtype"])
            return self.check(label, "fail", msg, fix)
        shape = list(a["shape"])
        if ref is None:
            return self._along_directions(i, a, g, g2, label)
        got_vals = g.get("values")
        if got_vals is None:
            return self.check(label, "not_run", "the gradient is too large to compare")
        got = np.asarray(got_vals, dtype=float).reshape(g["shape"])
        if list(g["shape"]) != shape:
            reduced = _sum_to(got, shape)
            if reduced is None:
                return self._shape_check(i, a, g, label)
            got = reduced
        got = got.reshape(-1)
        r = np.asarray(ref, dtype=float)
        tol = _tolerance(r, err, a["dtype"])
        scaled = None
        if g2 is not None and g2.get("kind") == "tensor" and g2.get("values") is not None:
            s2 = np.asarray(g2["values"], dtype=float).reshape(g2["shape"])
            s2r = _sum_to(s2, shape) if list(g2["shape"]) != shape else s2
            scaled = None if s2r is None else s2r.reshape(-1)
        worst = int(np.argmax(np.abs(got - r))) if got.size else 0
        kw: dict[str, Any] = {"expected": float(r[worst]) if r.size else None}
        kw["got"] = float(got[worst]) if got.size else None
        if np.all(np.abs(got - r) <= tol):
            diff = float(np.max(np.abs(got - r))) if r.size else 0.0
            return self.check(label, "pass", f"matches the numerical gradient (largest "
                              f"difference {diff:.1e})", **kw)  # fmt: skip
        msg, fix = self._diagnose(i, a, got, r, tol, scaled, col)
        return self.check(label, "fail", msg, fix, **kw)

    def _along_directions(
        self, i: int, a: Mapping[str, Any], g: Mapping[str, Any], g2: Any, label: str
    ) -> Check:
        """A large input: ``<gradient, u>`` against the derivative along random directions u."""
        import numpy as np

        k = self.grad_idx.index(i)
        dirs = (self.data.get("directional") or [None] * len(self.grad_idx))[k]
        if dirs is None or g.get("values") is None:
            return self.check(label, "not_run", "too large to compare; give smaller inputs")
        shape = list(a["shape"])
        got = np.asarray(g["values"], dtype=float).reshape(g["shape"])
        if list(g["shape"]) != shape:
            reduced = _sum_to(got, shape)
            if reduced is None:
                return self._shape_check(i, a, g, label)
            got = reduced
        got = got.reshape(-1)
        u = np.asarray(dirs["directions"], dtype=float)
        want = np.asarray(dirs["values"], dtype=float)
        have = u @ got
        tol = _tolerance(want, dirs["error"], a["dtype"])
        kw: dict[str, Any] = {"expected": float(want[0]), "got": float(have[0])}
        how = f"along {len(want)} random directions (the input is too large entry by entry)"
        if np.all(np.abs(have - want) <= tol):
            return self.check(label, "pass", f"matches the numerical derivative {how}", **kw)
        if np.all(np.abs(got) == 0):
            msg, fix = _say("zero", arg=a["name"])
        else:
            c = float(np.dot(have, want) / max(float(np.dot(want, want)), 1e-300))
            if abs(c) > 1e-9 and np.all(np.abs(have - c * want) <= tol * max(1.0, abs(c))):
                msg, fix = _say("sign", arg=a["name"]) if abs(c + 1) < 1e-6 else _say(
                    "factor", arg=a["name"], factor=_factor_text(c))  # fmt: skip
            else:
                msg = (f"the gradient of {a['name']} is wrong {how}: expected "
                       f"{', '.join(num(float(w)) for w in want)}, got "
                       f"{', '.join(num(float(h)) for h in have)}")  # fmt: skip
                fix = "check it at small shapes first: --shapes"
        return self.check(label, "fail", msg, fix, **kw)

    def _shape_check(self, i: int, a: Mapping[str, Any], g: Mapping[str, Any], label: str) -> Check:
        self.shape_failed = True
        arg, shape, got_shape = a["name"], list(a["shape"]), list(g["shape"])
        out = list(self.out0["shape"]) if self.out0 else None
        want = _reduce_dims(shape, out) if out is not None and _broadcasts(shape, out) else []
        if out is not None and want:
            for d in range(len(out)):
                if out[:d] + out[d + 1 :] == got_shape and d not in want:
                    batch = " (the batch)" if want == [0] else ""
                    want_sum = ", ".join(str(w) for w in want)
                    msg, fix = _say(
                        "reduction_dim",
                        arg=arg,
                        got_shape=_shape(got_shape),
                        got_dim=d,
                        shape=_shape(shape),
                        batch=batch,
                        want_dims=" and ".join(str(w) for w in want),
                        want_sum=want_sum if len(want) == 1 else f"({want_sum},)",
                    )
                    return self.check(label, "fail", msg, fix)
        products = ""
        cands = (self.data.get("candidates") or {}).get(str(i))
        if cands:
            products = "; products with that shape: " + ", ".join(c["expr"] for c in cands)
        msg, fix = _say("wrong_shape", arg=arg, got_shape=_shape(got_shape), shape=_shape(shape),
                        index=i, products=products)  # fmt: skip
        return self.check(label, "fail", msg, fix)

    def _diagnose(
        self,
        i: int,
        a: Mapping[str, Any],
        got: Any,
        r: Any,
        tol: Any,
        scaled: Any,
        col: tuple[int, int],
    ) -> tuple[str, str]:
        import numpy as np

        arg = a["name"]
        if np.all(np.abs(got) <= tol * 1e-3 + 1e-300) and np.any(np.abs(r) > tol):
            return _say("zero", arg=arg)
        jac = np.asarray(self.ref["jacobian"], dtype=float) if self.ref and self.ref.get(
            "jacobian") is not None else None  # fmt: skip
        if scaled is not None and np.any(np.abs(got) > tol):
            if np.all(np.abs(scaled - got) <= tol):
                ones = ""
                if jac is not None:
                    block = jac[:, col[0] : col[1]]
                    if _close_all(list(block.sum(axis=0)), list(got), 1e-6):
                        ones = " (it returns the gradient for grad_out = ones)"
                return _say("ignores_grad_out", arg=arg, scale=_factor_text(SCALE), ones=ones)
            if not np.all(np.abs(scaled - SCALE * got) <= SCALE * tol):
                return _say("not_linear", arg=arg, scale=_factor_text(SCALE))
        rr = float(np.dot(r, r))
        if rr > 0:
            c = float(np.dot(got, r)) / rr
            if abs(c) > 1e-9 and np.all(np.abs(got - c * r) <= tol * max(1.0, abs(c))):
                if abs(c + 1) < 1e-6:
                    return _say("sign", arg=arg)
                return _say("factor", arg=arg, factor=_factor_text(c))
        cands = (self.data.get("candidates") or {}).get(str(i), [])
        right = next((c["expr"] for c in cands if _close_all(c["values"], list(r), 1e-6)), None)
        yours = next((c["expr"] for c in cands if _close_all(c["values"], list(got), 1e-6)), None)
        if right and yours:
            return _say("other_product", arg=arg, yours=yours, right=right)
        if jac is not None and self.single_out:
            block = jac[:, col[0] : col[1]]
            v = np.asarray(self.v, dtype=float)
            if block.shape[0] == block.shape[1] == v.size:
                d = np.diag(block) * v
                off = block - np.diag(np.diag(block))
                if np.all(np.abs(got - d) <= tol) and np.max(np.abs(off)) > 1e-6 * max(
                    1.0, float(np.max(np.abs(block)))
                ):
                    return _say("diagonal_only", arg=arg)
        return _say("mismatch", arg=arg, pattern=_pattern(got, r, tol, a["shape"]),
                    worst=_worst(got, r, a["shape"]))  # fmt: skip

    # -- backward of backward
    def _double(self, dbl: Mapping[str, Any]) -> list[Check]:
        import numpy as np

        label = "backward of backward"
        if "unsupported" in dbl:
            self.notes.append(
                f"{self.name}: backward of backward not checked: {dbl['unsupported']}"
            )
            return []
        if "error" in dbl:
            text = f"differentiating {self.method} {error_text(dbl['error'])}"
            return [self.check(label, "fail", text, traceback=dbl["error"].get("traceback", ""))]
        ref = dbl.get("reference")
        if ref is None:
            self.notes.append(f"{self.name}: backward of backward not checked at {self.at}: the "
                              "inputs are too large for its reference")  # fmt: skip
            return []
        checks = []
        offset = 0
        arg_names = [self.args[i]["name"] for i in self.grad_idx] + ["grad_out"] * (
            len(dbl["names"]) - len(self.grad_idx)
        )
        for k, (nm, shape) in enumerate(zip(arg_names, dbl["shapes"])):
            size = math.prod(shape)
            r = np.asarray(ref["values"][offset : offset + size], dtype=float)
            err = ref["error"][offset : offset + size]
            offset += size
            what = f"backward of backward, d/d{nm}"
            gv = dbl["got"][k]
            tol = _tolerance(r, err, "float64")
            if gv is None:
                if np.all(np.abs(r) <= tol):
                    checks.append(self.check(what, "pass", "None, and the reference is zero"))
                    continue
                msg, fix = _say("no_double", why=f"it gives no gradient for {nm}: backward "
                                f"uses a tensor that carries no graph back to {nm} (a ctx "
                                "attribute, a .detach(), a value computed in forward)")  # fmt: skip
                checks.append(self.check(what, "fail", msg, fix))
                continue
            got = np.asarray(gv, dtype=float)
            worst = int(np.argmax(np.abs(got - r))) if got.size else 0
            kw: dict[str, Any] = {"expected": float(r[worst]), "got": float(got[worst])}
            if np.all(np.abs(got - r) <= tol):
                checks.append(self.check(what, "pass", "matches the numerical derivative of "
                                         "your backward", **kw))  # fmt: skip
                continue
            rr = float(np.dot(r, r))
            c = float(np.dot(got, r)) / rr if rr > 0 else 0.0
            a = {"name": f"{nm} (second order)", "shape": shape}
            if np.all(np.abs(got) <= 1e-300) and rr > 0:
                msg, fix = _say("zero", arg=a["name"])
            elif rr > 0 and np.all(np.abs(got - c * r) <= tol * max(1.0, abs(c))):
                msg, fix = _say("sign", arg=a["name"]) if abs(c + 1) < 1e-6 else _say(
                    "factor", arg=a["name"], factor=_factor_text(c))  # fmt: skip
            else:
                msg, fix = _say("mismatch", arg=a["name"], pattern=_pattern(got, r, tol, shape),
                                worst=_worst(got, r, shape))  # fmt: skip
            checks.append(self.check(what, "fail", msg, fix, **kw))
        return checks


# ---- numbers -----------------------------------------------------------------------------------


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def _tolerance(r: Any, err: Sequence[float | None] | None, dtype: str) -> Any:
    """Per entry: the reference's own error estimate (x4) plus a relative allowance for the
    dtype the gradient was computed in."""
    import numpy as np

    scale = max(1.0, float(np.max(np.abs(r)))) if r.size else 1.0
    rel = {"float64": 1e-6, "float32": 2e-3, "float16": 2e-2, "bfloat16": 5e-2}.get(dtype, 1e-3)
    e = np.asarray([x if x is not None else 1e-4 * scale for x in (err or [0.0] * r.size)])
    return rel * scale + rel * np.abs(r) + 4 * np.minimum(e, 1e-2 * scale)


def _close_all(a: Sequence[float], b: Sequence[float], rel: float) -> bool:
    if len(a) != len(b):
        return False
    scale = max([1.0] + [abs(x) for x in b])
    return all(abs(x - y) <= rel * scale + rel * abs(y) for x, y in zip(a, b))


def _sum_to(got: Any, shape: Sequence[int]) -> Any:
    """What torch does with a gradient whose shape the input broadcasts to: sum it down."""
    import numpy as np

    gs = list(got.shape)
    if not _broadcasts(list(shape), gs):
        if got.size == math.prod(shape) and len(shape) == 0:
            return got.reshape(())
        return None
    lead = len(gs) - len(shape)
    out = got.sum(axis=tuple(range(lead))) if lead else got
    dims = tuple(d for d, (s, o) in enumerate(zip(shape, out.shape)) if s == 1 and o != 1)
    if dims:
        out = out.sum(axis=dims, keepdims=True)
    return np.asarray(out).reshape(shape)


def _broadcasts(small: Sequence[int], big: Sequence[int]) -> bool:
    """Does ``small`` broadcast to ``big`` (torch's is_expandable_to)?"""
    if len(small) > len(big):
        return False
    return all(s in (b, 1) for s, b in zip(reversed(small), reversed(big)))


def _reduce_dims(small: Sequence[int], big: Sequence[int]) -> list[int]:
    lead = len(big) - len(small)
    dims = list(range(lead))
    dims += [lead + d for d, s in enumerate(small) if s == 1 and big[lead + d] != 1]
    return dims


def _index(flat: int, shape: Sequence[int]) -> str:
    if not shape:
        return "()"
    idx = []
    for s in reversed(shape):
        idx.append(flat % s)
        flat //= s
    return "[" + ", ".join(str(k) for k in reversed(idx)) + "]"


def _worst(got: Any, r: Any, shape: Sequence[int]) -> str:
    import numpy as np

    order = np.argsort(-np.abs(got - r))[:3]
    return "; ".join(f"{_index(int(k), shape)}: {num(float(r[k]))}, {num(float(got[k]))}"
                     for k in order)  # fmt: skip


def _pattern(got: Any, r: Any, tol: Any, shape: Sequence[int]) -> str:
    """Which entries are wrong: all, some rows, some columns, or how many."""
    import numpy as np

    bad = np.abs(got - r) > tol
    n, total = int(bad.sum()), bad.size
    if n == total:
        return "in every entry"
    if len(shape) == 2:
        b = bad.reshape(shape)
        rows = [k for k in range(shape[0]) if b[k].all()]
        cols = [k for k in range(shape[1]) if b[:, k].all()]
        if rows and b.sum() == len(rows) * shape[1]:
            return (
                f"in row{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows))} (every column)"
            )
        if cols and b.sum() == len(cols) * shape[0]:
            return (
                f"in column{'s' if len(cols) > 1 else ''} {', '.join(map(str, cols))} (every row)"
            )
    return f"in {n} of {total} entries"


def parse_shapes(specs: Sequence[str]) -> dict[str, list[list[int]]]:
    """``--shapes`` values: ``3x4,4x5`` (every Function) or ``MatMul:3x4,4x5``; ``()`` is a
    scalar. Raises GradcliError (exit 2) on a malformed one."""
    from gradcli.errors import GradcliError

    out: dict[str, list[list[int]]] = {}
    for spec in specs:
        name, _, body = spec.rpartition(":")
        name = name.strip() or "*"
        shapes: list[list[int]] = []
        for part in body.split(","):
            part = part.strip()
            if part in ("()", "scalar"):
                shapes.append([])
                continue
            try:
                dims = [int(d) for d in part.lower().split("x")]
            except ValueError:
                dims = []
            if not dims or any(d < 1 or d > 10_000 for d in dims):
                raise GradcliError(
                    f"--shapes {spec}: {part or 'an empty shape'} is not a shape",
                    hint="give sizes joined by x, shapes by commas: --shapes 3x4,4x5 (() for a "
                    "scalar), or NAME:3x4,4x5 for one Function",
                )
            shapes.append(dims)
        out[name] = shapes
    return out
