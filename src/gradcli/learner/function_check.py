"""Check the learner's functions: finite differences, the exercise's gradient, softmax and NLL."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from gradcli.learner import diagnose as dg
from gradcli.learner.diagnose import num
from gradcli.learner.expected import References, close
from gradcli.learner.outcome import outcome_check
from gradcli.learner.programs import (
    FD_FORMULAS,
    FD_FUNCTIONS,
    FD_NAMES,
    FD_STEPS,
    FD_TEXT,
    GRADF_POINTS,
    LARGE_LOGITS,
    NLL_CASES,
    SOFTMAX_GRAD_CASES,
    SOFTMAX_LOGITS,
)
from gradcli.learner.report import Check
from gradcli.learner.runner import Outcome, Session


def _call(session: Session, name: str, request: dict[str, Any], label: str) -> Outcome:
    """Run one probe of the learner's function ``name``. A hang or a crash stops that function;
    in the Value class's constructor or backward() (softmax and nll run them), it stops those,
    unless the probe ran on gradcli's own Value."""
    ours = request.get("value") == "gradcli"
    parts = {"call": f"fn:{name}"}
    needs = [f"fn:{name}"]
    if request["kind"] in ("softmax", "softmax_grad", "nll") and not ours:
        parts.update(construct="construct", backward="backward")
        needs += ["construct", "backward"] if request["kind"] != "softmax" else ["construct"]
    return session.call(request, needs, parts, label=label)


# ---- finite differences ------------------------------------------------------------------------


def check_fd(session: Session, fname: str) -> list[Check]:
    formula = FD_NAMES[fname]
    checks = []
    for tf in FD_FUNCTIONS.values():
        name = f"{fname}(f, x, h) for f(x) = {tf.text} at x = {tf.x}"
        o = _call(
            session,
            fname,
            {"kind": "fd", "name": fname, "f": tf.key, "x": tf.x, "hs": list(FD_STEPS)},
            name,
        )
        want = [FD_FORMULAS[formula](tf.f, tf.x, h) for h in FD_STEPS]
        if not o.ok:
            checks.append(outcome_check(fname, None, name, o, want[0], None))
            continue
        got = o.result["values"]
        good = [dg.fd_close(g, w, tf.f, tf.x, h) for g, w, h in zip(got, want, FD_STEPS)]
        exact = tf.df(tf.x)
        if all(good):
            p = dg.order(FD_STEPS, [abs(g - exact) for g in got])
            order = f"; converges at order {p:.1f}" if p is not None else ""
            checks.append(
                Check(
                    fname,
                    None,
                    name,
                    "pass",
                    want[-1],
                    got[-1],
                    blame=fname,
                    message=f"matches {FD_TEXT[formula]} at h = "
                    f"{', '.join(f'{h:g}' for h in FD_STEPS)}{order}",
                )
            )
            continue
        i = good.index(False)
        hint = dg.fd_hint(fname, formula, got, tf.f, tf.x, FD_STEPS, exact)
        checks.append(
            Check(
                fname,
                None,
                name,
                "fail",
                want[i],
                got[i],
                blame=fname,
                message=f"at h = {FD_STEPS[i]:g}: expected {FD_TEXT[formula]} = {num(want[i])}, "
                f"got {num(got[i])}",
                hint=f"f(x) = {tf.text}: {hint}",
            )
        )
    return checks


# ---- the exercise's gradient -------------------------------------------------------------------


def check_gradf(session: Session, refs: References) -> list[Check]:
    outs = [
        _call(session, "gradf", {"kind": "gradf", "name": "gradf", "point": list(p)}, "gradf")
        for p in GRADF_POINTS
    ]
    wants = [refs.gradf(p).grads for p in GRADF_POINTS]
    if all(o.ok for o in outs) and all(v == 0 for o in outs for v in o.result["value"]):
        # the exercise's starter returns [0, 0, 0]: not written yet, not wrong
        return [
            Check(
                "gradf",
                None,
                "gradf(a, b, c)",
                "todo",
                message="not written yet: gradf returns [0, 0, 0] at every point",
                todo="gradf",
            )
        ]
    checks = []
    for k, dname in enumerate(dg.GRADF_NAMES):
        name = f"gradf(a, b, c): {dname}"
        bad = next((o for o in outs if not o.ok), None)
        want = [w[k] for w in wants]
        if bad is not None:
            checks.append(outcome_check("gradf", None, name, bad, want[0], None))
            continue
        got = [o.result["value"][k] for o in outs]
        ok = all(close(g, w) for g, w in zip(got, want))
        i = dg.first_bad(got, want)
        # each partial is its own cause: two independent mistakes are two things to fix
        blame = f"gradf ({dname})"
        c = Check("gradf", None, name, "pass" if ok else "fail", want[i], got[i], blame=blame)
        pts = ", ".join(str(tuple(p)) for p in GRADF_POINTS)
        at = tuple(GRADF_POINTS[i])
        c.message = f"matches at (a, b, c) = {pts}"
        if not ok:
            c.message = f"at (a, b, c) = {at}: expected {dg.vs(want[i], got[i])}"
        if not ok:
            c.hint = dg.gradf_hint(k, GRADF_POINTS, got, want)
        checks.append(c)
    return checks


# ---- softmax and nll ---------------------------------------------------------------------------

Judge = Callable[[Outcome], Check]


def check_softmax(
    session: Session, refs: References, has_nll: bool, own_value: bool, value_from: str
) -> tuple[list[Check], list[str]]:
    """softmax's probabilities (and that they sum to 1), the gradient of nll(softmax(x), t)
    against p - onehot(t), and [1000, 0] (a textbook softmax overflows there: a note).

    When the file's own Value class is used and a check fails, it is run again on gradcli's
    Value: if it passes there, the fault is the Value class's, not softmax's.
    """
    checks: list[Check] = []
    for logits in SOFTMAX_LOGITS:
        name = f"softmax({_list(logits)})"
        ask: dict[str, Any] = {"kind": "softmax", "name": "softmax", "logits": list(logits)}
        judge = partial(_probs_check, name, refs.softmax(logits), logits)
        checks.append(_judged(session, ask, name, judge, own_value, value_from))
    for logits, target in SOFTMAX_GRAD_CASES:
        loss = f"nll(softmax(x), {target})" if has_nll else f"-softmax(x)[{target}].log()"
        name = f"d {loss}/dx for x = {_list(logits)}"
        req: dict[str, Any] = {
            "kind": "softmax_grad",
            "name": "softmax",
            "logits": list(logits),
            "target": target,
            "use_nll": has_nll,
        }
        want_loss, want = refs.softmax_nll_grad(logits, target)
        judge = partial(_grad_check, name, want, want_loss, refs)
        checks.append(_judged(session, req, name, judge, own_value, value_from))
    notes: list[str] = []
    large = _large(session, refs, notes)
    if large is not None:
        checks.append(large)
    return checks, notes


def _judged(
    session: Session,
    req: dict[str, Any],
    name: str,
    judge: Judge,
    own_value: bool,
    value_from: str,
    fn: str = "softmax",
) -> Check:
    c = judge(_call(session, fn, req, name))
    if c.status == "pass" or not own_value:
        return c
    again = judge(_call(session, fn, {**req, "value": "gradcli"}, name))
    if again.status != "pass":
        return c
    if c.status == "todo":
        c.message = (
            f"{fn} is right with gradcli's Value; the Value class it uses ({value_from}) is "
            "not written yet (raises NotImplementedError)"
        )
        return c
    c.consequence_of = c.blame = "Value"
    c.hint = (
        f"{c.name}: {fn} itself is right (it passes with gradcli's Value); the Value class "
        f"it uses ({value_from}) gets it wrong: run gradcli check on {value_from}"
    )
    return c


def _large(session: Session, refs: References, notes: list[str]) -> Check | None:
    """softmax([1000, 0]): an overflow is a note with the fix; a wrong number is a failure."""
    name = f"softmax({_list(LARGE_LOGITS)})"
    req = {"kind": "softmax", "name": "softmax", "logits": list(LARGE_LOGITS)}
    o = _call(session, "softmax", req, name)
    overflow = (
        "softmax([1000, 0]) overflows: exp(1000) is too large for a float ({how}). Subtract "
        "the largest logit first: exp(x - max(x)) / sum(exp(x - max(x))) gives the same "
        "probabilities and never overflows"
    )
    err = o.error or {}
    message = err.get("message", "").lower()
    if o.status == "error" and (
        err.get("type") == "OverflowError" or "overflow" in message or "range" in message
    ):
        notes.append(overflow.format(how=f"{err['type']}{dg.where_text(err)}"))
        return None
    if o.ok and any(not math.isfinite(p) for p in o.result["probs"]):
        notes.append(overflow.format(how=f"it returns {o.result['probs']}"))
        return None
    return _probs_check(name, refs.softmax(LARGE_LOGITS), LARGE_LOGITS, o)


def _probs_check(name: str, want: list[float], logits: Sequence[float], o: Outcome) -> Check:
    if not o.ok:
        return outcome_check("softmax", None, name, o, want[0], None)
    got = o.result["probs"]
    ok = all(close(g, w) for g, w in zip(got, want))
    i = dg.first_bad(got, want)
    c = Check("softmax", None, name, "pass" if ok else "fail", want[i], got[i], blame="softmax")
    if ok:
        c.message = f"the probabilities match and sum to {num(math.fsum(got))}"
    else:
        total = num(math.fsum(got))
        c.message = f"entry {i}: expected {dg.vs(want[i], got[i])}; they sum to {total}"
        c.hint = dg.softmax_hint(_list(logits), logits, got, want)
    return c


def _grad_check(
    name: str, want: list[float], want_loss: float, refs: References, o: Outcome
) -> Check:
    if not o.ok:
        return outcome_check("softmax", None, name, o, want[0], None)
    got = o.result["grads"]
    loss = o.result["loss"]
    who = "p - onehot(t)" + (", as PyTorch's cross_entropy" if refs.torch_status == "used" else "")
    ok = all(close(g, w, 1e-9, 1e-12) for g, w in zip(got, want))
    i = dg.first_bad(got, want)
    c = Check("softmax", None, name, "pass" if ok else "fail", want[i], got[i], blame="softmax")
    c.calls = list(o.result.get("calls", []))
    if not close(loss, want_loss):
        c.status = "fail"
        c.expected, c.got = want_loss, loss
        c.message = f"the loss is {num(loss)}, expected -log(p[t]) = {num(want_loss)}"
        c.hint = f"{name}: the loss is {num(loss)}, expected {num(want_loss)}"
        c.blame = "nll"
        return c
    if ok:
        c.message = f"the gradient is {who}"
    else:
        c.message = f"entry {i}: expected p - onehot = {dg.vs(want[i], got[i])}"
        c.hint = f"{name}: entry {i} expected p[{i}] - onehot = {dg.vs(want[i], got[i])}"
    return c


def check_nll(
    session: Session, refs: References, own_value: bool = False, value_from: str = ""
) -> list[Check]:
    """nll's loss and its gradient -1/p[t]; a failure that goes away on gradcli's Value is the
    Value class's (as for softmax)."""
    checks = []
    for probs, target in NLL_CASES:
        name = f"nll({_list(probs)}, {target})"
        want_loss, want = refs.nll(probs, target)
        req = {"kind": "nll", "name": "nll", "probs": list(probs), "target": target}
        judge = partial(_nll_check, name, probs, target, want_loss, want)
        checks.append(_judged(session, req, name, judge, own_value, value_from, "nll"))
    return checks


def _nll_check(
    name: str,
    probs: Sequence[float],
    target: int,
    want_loss: float,
    want: list[float],
    o: Outcome,
) -> Check:
    if not o.ok:
        return outcome_check("nll", None, name, o, want_loss, None)
    loss, got = o.result["loss"], o.result["grads"]
    calls = list(o.result.get("calls", []))
    if not close(loss, want_loss):
        return Check(
            "nll",
            None,
            name,
            "fail",
            want_loss,
            loss,
            blame="nll",
            message=f"expected -log(p[{target}]) = {dg.vs(want_loss, loss)}",
            hint=dg.nll_hint(probs, target, loss, want_loss),
            calls=calls,
        )
    ok = all(close(g, w) for g, w in zip(got, want))
    i = dg.first_bad(got, want)
    c = Check("nll", None, name, "pass" if ok else "fail", want[i], got[i], blame="nll")
    c.calls = calls
    c.message = (
        f"-log(p[{target}]) and its gradient -1/p[{target}] match"
        if ok
        else (f"d/dp[{i}] expected {dg.vs(want[i], got[i])}")
    )
    if not ok:
        c.hint = f"{name}: d/dp[{i}] expected {dg.vs(want[i], got[i])}"
    return c


def _list(xs: Sequence[float]) -> str:
    return "[" + ", ".join(_short(x) for x in xs) + "]"


def _short(x: float) -> str:
    return str(int(x)) if x == int(x) else repr(x)


def link_softmax(checks: list[Check]) -> None:
    """The gradient of nll(softmax(x), t) fails because softmax or nll does, when one of them
    fails on its own: mark it as that one's consequence."""
    roots = {
        c.target
        for c in checks
        if c.status == "fail" and c.consequence_of is None and not c.name.startswith("d ")
    }
    for c in checks:
        if c.status == "fail" and c.consequence_of is None and c.name.startswith("d "):
            cause = "softmax" if "softmax" in roots else "nll" if "nll" in roots else None
            if cause is not None:
                c.consequence_of = cause
                c.hint = f"{c.name}: fails because {cause} fails: fix {cause} first"
