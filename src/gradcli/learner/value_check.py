"""Check a learner's ``Value`` class: each operation alone, then the structure of backward().

The order follows the lecture. Each operation first, at several points: the forward value, the
gradient of each input through the learner's ``backward()``, and (where nodes have micrograd's
``_backward``) the node's own rule run alone with ``out.grad`` not 1 and the inputs' grads not 0.
Then the traversal: a variable used twice, a diamond, a chain, the seed, a chain deeper than the
recursion limit, composites, and what a second ``backward()`` does. Finally the root causes: a
derived operation that fails only because a primitive it is built from fails (as the learner's
own graph shows, or as the lecture builds it) is marked as a consequence of that primitive.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gradcli.learner import diagnose as dg
from gradcli.learner.diagnose import num
from gradcli.learner.expected import ATOL, RTOL, Ref, References, close
from gradcli.learner.outcome import outcome_check, unsupported
from gradcli.learner.probes import UPSTREAM
from gradcli.learner.programs import (
    COMPOSITES,
    CORE_OPS,
    DEEP_CHAIN,
    FEATURES,
    OP_PROGRAMS,
    REFLECTED,
    REPEAT,
    SEED,
    STRUCTURE,
    Program,
    blame_label,
    op_of_method,
    reflected_hint,
)
from gradcli.learner.report import Check
from gradcli.learner.runner import Outcome, Session

#: what the learner writes for each feature, for the messages
SPELLING = {
    "add": "__add__",
    "radd": "__radd__",
    "sub": "__sub__",
    "rsub": "__rsub__",
    "mul": "__mul__",
    "rmul": "__rmul__",
    "div": "__truediv__",
    "rtruediv": "__rtruediv__",
    "neg": "__neg__",
    "pow": "__pow__",
}


@dataclass
class ValueResult:
    checks: list[Check] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)  # the learner's functions backward() ran
    notes: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class ValueChecker:
    """Runs every check of one Value class through a :class:`Session`."""

    def __init__(self, session: Session, info: dict[str, Any], refs: References) -> None:
        self.session = session
        self.refs = refs
        self.name = info["name"]
        self.features = set(info["features"]) | set(info["methods"])
        self.own: list[str] = info.get("own", [])  # the methods the learner wrote
        adapter = info.get("adapter") or {}
        self.names: dict[str, str] = adapter.get("names", {})
        self.init_grad: float | None = adapter.get("init_grad")
        # single-precision numbers are compared to single precision, never a false alarm
        self.rtol, self.atol = (
            (2e-6, 1e-7) if adapter.get("precision") == "float32" else (RTOL, ATOL)
        )
        self.required: set[str] = set()  # a profile's methods: missing, they are todo, not notes
        self.slow = False  # backward() was found too slow (said once)
        self.slow_runs = 0  # calls whose backward() took more than SLOW_BACKWARD
        if "backward" not in self.names or "grad" not in self.names:
            self.features.discard("backward")
        elif "backward" not in self.features:
            self.features.add("backward")  # backprop(), backProp(), ...
        self.result = ValueResult()
        self.has_step: bool | None = None  # do the nodes have a callable _backward?

    # ---- running -------------------------------------------------------------------------------
    def call(self, prog: Program, point: Sequence[float], mode: str) -> Outcome:
        """Run ``prog`` in the child; a hang or crash is blamed on the phase it happened in."""
        single = len(prog.uses) == 1
        fwd = f"forward:{prog.uses[0]}" if single else f"program:{prog.key}"
        step = f"_backward:{prog.uses[0]}" if single else f"_backward:program:{prog.key}"
        needs = ["construct", *(f"forward:{u}" for u in prog.uses), f"program:{prog.key}"]
        if mode in ("backward", "repeat", "trace"):
            needs.append("backward")
        if mode in ("local", "trace"):
            needs += [f"_backward:{u}" for u in prog.uses]
        parts = {
            "construct": "construct",
            "forward": fwd,
            "backward": "backward",
            "_backward": step,
        }
        request = {"kind": "program", "program": prog.key, "point": list(point), "mode": mode}
        o = self.session.call(request, needs, parts, label=prog.name)
        self.ran([o])
        err = o.error or {}
        if (
            o.status == "error"
            and o.phase == "backward"
            and not err.get("ours")
            and err.get("type") != "NotImplementedError"
            and op_of_method(err.get("method")) is None
            and prog is not DEEP_CHAIN
        ):
            # backward() itself failed (not an op's rule): every check that needs it would fail
            # the same way; they are "not run", and this one says why
            where = err.get("method") or "backward"
            self.session.stopped.setdefault(
                "backward",
                f"not run: backward() failed in an earlier check ({prog.name}: {err.get('type')}"
                f" in {where}), see above",
            )
        took = o.times.get("backward", 0.0)
        if o.ok and took > SLOW_BACKWARD and prog is not DEEP_CHAIN:
            self.slow_runs += 1
        if self.slow_runs == 2 and not self.slow:
            # right but far too slow on a tiny graph, twice (one stall of a busy machine is not
            # enough): every check after it would wait as long
            self.slow = True
            self.add(
                Check(
                    self.name,
                    "backward",
                    f"{self.names.get('backward', 'backward')}() on a small graph is fast",
                    "fail",
                    message=f"backward() took {took:.1f} s on {prog.name}",
                    hint=(
                        f"backward() took {took:.1f} s on {prog.name}, a graph of a few nodes: "
                        "something in it waits or repeats (a sleep, a loop over far more than "
                        "the nodes); the checks that need it were not run"
                    ),
                    blame="backward",
                    method=self.names.get("backward"),
                )
            )
            self.session.stopped.setdefault(
                "backward",
                f"not run: backward() is too slow ({took:.1f} s on {prog.name}), see above",
            )
        return o

    def ran(self, outs: Sequence[Outcome]) -> None:
        for name in _back_calls(outs):
            if name not in self.result.ran:
                self.result.ran.append(name)

    def judged(
        self, prog: Program, name: str, o: Outcome, want: float | None, op: str | None = None
    ) -> Check:
        c = outcome_check(
            self.name,
            op if op is not None else prog.op,
            name,
            o,
            want,
            prog,
            self.name,
            prog.method,
        )
        c.calls = list(o.result.get("calls") or o.known.get("calls") or [])
        return c

    def close(self, got: float | None, want: float | None, rtol: float = 0.0) -> bool:
        return close(got, want, max(rtol, self.rtol), self.atol)

    def op_check(
        self, prog: Program, name: str, want: float, got: float | None, outs: Sequence[Outcome]
    ) -> Check:
        """A passing check of one op's program (the caller turns it into a failure)."""
        return Check(
            self.name,
            prog.op,
            name,
            "pass",
            want,
            got,
            blame=blame_label(prog.op, prog.method),
            method=prog.method,
            calls=_calls(outs),
        )

    def add(self, check: Check) -> Check:
        self.result.checks.append(check)
        return check

    # ---- the whole class -----------------------------------------------------------------------
    def run(self) -> ValueResult:
        r = self.result
        r.found.append(self.name)
        for op in CORE_OPS:
            if op in self.features:
                r.found.append(f"{self.name}.{op}")
            else:
                spelled = f" ({SPELLING[op]})" if op in SPELLING else ""
                r.skipped.append(f"{self.name}.{op}{spelled}")
        for op in sorted(self.features - set(CORE_OPS) - set(FEATURES)):
            r.found.append(f"{self.name}.{op}")
        has_backward = "backward" in self.features
        back = self.names.get("backward", "backward")
        if has_backward:
            r.found.append(f"{self.name}.{back}")
        elif "grad" not in self.names:
            r.skipped.append(f"{self.name}'s gradient (no attribute holds it: values only)")
        else:
            r.skipped.append(f"{self.name}.backward (without it only the values are checked)")
        if self.init_grad is not None:
            grad = self.names.get("grad", "grad")
            self.add(
                Check(
                    self.name,
                    None,
                    f"a new {self.name}'s .{grad} is 0",
                    "fail",
                    0.0,
                    self.init_grad,
                    message=f"{self.name}(2.0).{grad} is {num(self.init_grad)}",
                    hint=(
                        f"{self.name}(2.0).{grad} is {num(self.init_grad)}: a new node's "
                        f"gradient starts at 0 (self.{grad} = 0.0 in __init__); only the output's "
                        "is set to 1, by backward()"
                    ),
                    blame="__init__",
                    method="__init__",
                )
            )
        for prog in OP_PROGRAMS:
            if prog.op in self.features or (prog.op == "powv" and prog.needs[0] in self.features):
                self.check_op(prog, has_backward)
        if has_backward:
            for prog in STRUCTURE:
                if self.can(prog):
                    self.graph_check(prog)
            if self.can(SEED):
                self.seed_check()
            if self.can(DEEP_CHAIN):
                self.deep_check()
            for prog in COMPOSITES:
                if self.can(prog):
                    self.graph_check(prog)
            if self.can(REPEAT):
                self.repeat_note()
        if self.has_step is False and "step" in self.names:
            r.notes.append(
                "the nodes have no per-node _backward (micrograd's closures): each rule was "
                "checked through backward() only"
            )
        self._init_grad_matters()
        self.find_root_causes()
        return r

    def _init_grad_matters(self) -> None:
        """A fresh node whose grad is not 0 is a fault only when a gradient comes out wrong
        (a backward() that zeroes every grad first makes it harmless): else a note."""
        r = self.result
        init = [c for c in r.checks if c.blame == "__init__" and c.method == "__init__"]
        if not init or any(c.status == "fail" and c not in init for c in r.checks):
            return
        for c in init:
            r.checks.remove(c)
            r.notes.append(
                f"{c.message}: a new node's gradient usually starts at 0 (harmless "
                "here: every gradient checked is right)"
            )

    def can(self, prog: Program) -> bool:
        return all(f in self.features for f in prog.needs)

    # ---- one operation -------------------------------------------------------------------------
    def check_op(self, prog: Program, has_backward: bool) -> None:
        """One program of one op (``a * b``, ``2.0 * a``, ...) at each of its points."""
        assert prog.op is not None
        missing = [f for f in prog.needs if f not in self.features]
        if missing:
            self.missing_feature(prog, missing[0])
            return
        locals_: list[Outcome] = []
        fulls: list[Outcome] = []
        for point in prog.points:
            o = self.call(prog, point, "local")
            locals_.append(o)
            form_missing = (
                unsupported(o.error or {}, prog, self.name) if o.status == "error" else None
            )
            if form_missing is not None:
                self.not_supported(prog, form_missing)
                return
            if has_backward:
                fulls.append(self.call(prog, point, "backward"))
        refs = [self.refs.program(prog, p) for p in prog.points]
        self.add(self.forward_check(prog, locals_, refs))
        for slot in dg.slots(prog):
            leaf = prog.leaves.index(slot.name)
            local = self.local_check(prog, slot, leaf, locals_, refs)
            if has_backward:
                self.add(self.full_check(prog, slot, leaf, fulls, refs, local))
            if local is not None:
                self.add(local)

    def missing_feature(self, prog: Program, feat: str) -> None:
        """A method the class does not have: a note (or a todo: checks that need it say so),
        never a failure of another op."""
        assert prog.op is not None
        spelled = SPELLING.get(feat, feat)
        if prog.optional and not self.demands(prog):
            self.result.notes.append(
                f"no {spelled}: {prog.name} was not checked; {reflected_hint(spelled, self.name)}"
                if spelled in REFLECTED
                else f"no {spelled}: {prog.name} was not checked"
            )
            return
        why = (
            reflected_hint(spelled, self.name)
            if spelled in REFLECTED
            else f"{prog.name} needs {spelled}"
        )
        self.add(
            Check(
                self.name,
                prog.op,
                prog.name,
                "todo",
                message=f"not written yet: the class has no {spelled}; {why}",
                blame=prog.op,
                todo=f"{self.name}.{spelled}",
                method=spelled if spelled.startswith("__") else prog.method,
            )
        )

    def demands(self, prog: Program) -> bool:
        """Does the profile make this optional form required (the exercise's __rsub__)? A
        number on the left of a method it lists, yes; a Value exponent (a ** b), no."""
        return prog.form == "cv" and prog.method in self.required

    def not_supported(self, prog: Program, missing: str) -> None:
        """A form the class does not handle yet (numbers not wrapped, no __radd__, an exponent
        that must be a number): a todo, or a note for the forms the lecture never needs."""
        assert prog.op is not None
        if prog.optional and not self.demands(prog):
            self.result.notes.append(f"{prog.name}: {missing} (not checked)")
            return
        self.add(
            Check(
                self.name,
                prog.op,
                prog.name,
                "todo",
                message=f"not supported yet: {missing}",
                blame=prog.op,
                todo=missing,
                method=prog.method,
            )
        )

    def forward_check(self, prog: Program, outs: list[Outcome], refs: list[Ref]) -> Check:
        assert prog.op is not None
        want = [r.data for r in refs]
        # the value is known even when a later step (_backward) failed
        bad = next((o for o in outs if "data" not in o.result and "data" not in o.known), None)
        if bad is not None:
            return self.judged(prog, prog.name, bad, want[0])
        got = [o.result.get("data", o.known.get("data")) for o in outs]
        i = dg.first_bad(got, want)
        check = self.op_check(prog, prog.name, want[i], got[i], outs)
        if all(self.close(g, w) for g, w in zip(got, want)):
            check.message = self.agree(refs)
            return check
        at = _point(prog, prog.points[i])
        check.status = "fail"
        check.message = f"at {at}: expected {dg.vs(want[i], got[i])}"
        cands = [dg.forward_candidates(prog.op, *dg.operands(prog, p)) for p in prog.points]
        check.hint = dg.explain_forward(f"{prog.name} at {at}", got, want, cands)
        return check

    def candidates(self, prog: Program, slot: dg.Slot, outs: list[Outcome]) -> list[list[dg.Cand]]:
        assert prog.op is not None
        out = []
        for p, o in zip(prog.points, outs):
            u, v, names = dg.operands(prog, p)
            out.append(dg.rule_candidates(prog.op, slot, u, v, o.result["data"], names))
        return out

    def local_check(
        self, prog: Program, slot: dg.Slot, leaf: int, outs: list[Outcome], refs: list[Ref]
    ) -> Check | None:
        """The node's own ``_backward``, run alone (None when the nodes have none, or when the
        forward pass already failed: the forward check reports that)."""
        assert prog.op is not None
        name = f"{_dname(prog, slot.name)}, _backward alone"
        want = [r.grads[leaf] for r in refs]
        bad = next((o for o in outs if not o.ok), None)
        if bad is not None:
            if bad.status == "error" and bad.phase in ("construct", "forward", ""):
                return None
            return self.judged(prog, name, bad, UPSTREAM * want[0])
        if not all(o.result.get("has_backward") for o in outs):
            if self.has_step is None:
                self.has_step = False
            return None
        self.has_step = True
        final = [o.result["final"][leaf] for o in outs]
        pre = [o.result["pre"][leaf] for o in outs]
        gains = [f - p for f, p in zip(final, pre)]
        scaled = [UPSTREAM * w for w in want]
        i = dg.first_bad(gains, scaled)
        check = self.op_check(prog, name, scaled[i], gains[i], outs)
        if all(self.close(g, w) for g, w in zip(gains, scaled)):
            check.message = (
                f"with out.grad = {num(UPSTREAM)}, {slot.name}.grad gains out.grad * "
                f"d/d{slot.name} and keeps what it held, at {len(outs)} points"
            )
            return check
        check.status = "fail"
        check.message = (
            f"at {_point(prog, prog.points[i])} with out.grad = {num(UPSTREAM)}: "
            f"{slot.name}.grad should gain {num(scaled[i])}, it gained {num(gains[i])}"
        )
        rule = _rule(prog, slot)
        check.hint = dg.explain_local(
            f"{prog.op}'s _backward in {prog.name}",
            slot.name,
            rule,
            final,
            pre,
            want,
            self.candidates(prog, slot, outs),
            prog.op,
            slot.role,
        )
        return check

    def full_check(
        self,
        prog: Program,
        slot: dg.Slot,
        leaf: int,
        outs: list[Outcome],
        refs: list[Ref],
        local: Check | None,
    ) -> Check:
        """The input's gradient through the learner's ``backward()``."""
        assert prog.op is not None
        name = _dname(prog, slot.name)
        want = [r.grads[leaf] for r in refs]
        bad = next((o for o in outs if not o.ok), None)
        if bad is not None:
            return self.judged(prog, name, bad, want[0])
        got = [o.result["grads"][leaf] for o in outs]
        i = dg.first_bad(got, want)
        check = self.op_check(prog, name, want[i], got[i], outs)
        if all(self.close(g, w) for g, w in zip(got, want)):
            check.message = self.agree(refs)
            return check
        check.status = "fail"
        at = _point(prog, prog.points[i])
        check.message = f"at {at}: expected {dg.vs(want[i], got[i])} after backward()"
        rule = _rule(prog, slot)
        seeds = [o.result.get("out_grad") for o in outs]
        seed = seeds[i]
        no_seed = seed is not None and not self.close(seed, 1.0)
        if local is not None and local.passed:
            check.blame = "backward"
            why = f"{prog.op}'s _backward is right (checked alone), so the fault is in backward()"
            if no_seed:
                why += f": the output's grad is {num(seed)} after it, not 1 (the seed)"
            check.hint = f"{name}: expected {dg.eq(rule, want[i])}, got {num(got[i])}: {why}"
            return check
        check.hint = dg.explain_full(name, rule, got, want, self.candidates(prog, slot, outs))
        if no_seed and all(self.close(g, 0.0) for g in got):
            check.blame = "backward"
            check.hint += (
                f"; the output's grad is {num(seed)} after backward(): it must be set to 1 "
                "before the gradients flow (the seed)"
            )
        return check

    def agree(self, refs: list[Ref]) -> str:
        n = len(refs)
        who = "gradcli"
        if all(r.torch_data is not None for r in refs):
            who = "gradcli and PyTorch"
        return f"matches {who} at {n} point{'s' if n != 1 else ''}"

    # ---- the traversal -------------------------------------------------------------------------
    def graph_check(self, prog: Program) -> Check:
        """Every input's gradient of a structure or composite program, through backward()."""
        name = f"gradient of {prog.name}"
        outs = [self.call(prog, p, "backward") for p in prog.points]
        refs = [self.refs.program(prog, p) for p in prog.points]
        bad = next((o for o in outs if not o.ok), None)
        if bad is not None:
            missing = (
                unsupported(bad.error or {}, prog, self.name) if bad.status == "error" else None
            )
            if missing is not None:
                c = self.judged(prog, name, bad, refs[0].grads[0], "backward")
                c.status, c.message, c.todo = "todo", f"not checked: {missing}", missing
                return self.add(c)
            return self.add(self.judged(prog, name, bad, refs[0].grads[0], "backward"))
        wrong = [
            (pi, li)
            for pi, (o, r) in enumerate(zip(outs, refs))
            for li in range(len(prog.leaves))
            if not self.close(o.result["grads"][li], r.grads[li])
        ]
        wrong_value = [
            pi
            for pi, (o, r) in enumerate(zip(outs, refs))
            if not self.close(o.result["data"], r.data)
        ]
        if not wrong and not wrong_value:
            c = Check(
                self.name,
                "backward",
                name,
                "pass",
                refs[0].grads[0],
                outs[0].result["grads"][0],
                calls=_calls(outs),
            )
            c.message, c.blame = self.agree(refs), "backward"
            return self.add(c)
        pi, li = wrong[0] if wrong else (wrong_value[0], 0)
        at = _point(prog, prog.points[pi])
        if not wrong:
            want, got = refs[pi].data, outs[pi].result["data"]
            c = Check(self.name, "backward", name, "fail", want, got, blame="backward")
            c.calls = _calls(outs)
            c.message = f"at {at}: the value is {num(got)}, expected {num(want)}"
            c.hint = f"{prog.name}: the value is {num(got)}, expected {num(want)}"
            return self.add(c)
        want, got = refs[pi].grads[li], outs[pi].result["grads"][li]
        leaf = prog.leaves[li]
        c = Check(self.name, "backward", name, "fail", want, got, blame="backward")
        c.calls = _calls(outs)
        c.message = f"at {at}: d/d{leaf} expected {dg.vs(want, got)}"
        by_value = {"__eq__", "__hash__"} & set(self.own)
        if prog.key == "equal_values" and by_value:
            method = sorted(by_value)[0]
            c.blame = c.method = method
            both = " and ".join(sorted(by_value))
            c.hint = (
                f"{prog.name}: d/d{leaf} expected {dg.vs(want, got)}: your {both} "
                "compare nodes by value, so a set of children keeps one of two nodes that hold "
                "the same number and the other's gradient is lost; keep the default (identity) "
                "__eq__ and __hash__, or keep the children in a tuple"
            )
            return self.add(c)
        why = self.traversal_why(prog, prog.points[pi], outs[pi], refs[pi])
        c.hint = f"{prog.name}: d/d{leaf} expected {dg.vs(want, got)}: {why}"
        return self.add(c)

    def traversal_why(self, prog: Program, point: Sequence[float], out: Outcome, ref: Ref) -> str:
        """What backward() does wrong on this graph, watched node by node where it can be."""
        seed = out.result.get("out_grad")
        if seed is not None and not self.close(seed, 1.0):
            return (
                f"the output's grad is {num(seed)} after backward(), not 1: set self.grad = 1 "
                "before calling the _backward steps (the seed)"
            )
        if self.has_step:
            t = self.call(prog, point, "trace")
            if t.ok and t.result.get("has_backward"):
                return _trace_why(t.result, ref, self.close)
        if prog.key in ("twice_add", "twice_mul", "twice_used"):
            return (
                "a Value used twice gets only one of its contributions: every contribution must "
                "be added (+=) to child.grad, never assigned"
            )
        if all(self.close(g, 0.0) for g in out.result["grads"]):
            return "the gradients never reach the inputs"
        return (
            "each operation passes alone, so look at backward(): the nodes must be visited once "
            "each, from the output back (reversed topological order), adding (+=) each "
            "contribution"
        )

    def seed_check(self) -> None:
        name = SEED_CHECK
        o = self.call(SEED, SEED.points[0], "backward")
        if not o.ok:
            self.add(self.judged(SEED, name, o, 1.0, "backward"))
            return
        got = o.result["out_grad"]
        c = Check(self.name, "backward", name, "pass", 1.0, got, blame="backward")
        c.calls = _calls([o])
        c.message = f"out.grad is {num(got)} after out.backward()"
        if not self.close(got, 1.0):
            c.status = "fail"
            c.hint = (
                f"{name}: out.grad is {num(got)} after out.backward(): set self.grad = 1 before "
                "the _backward steps run, or no gradient flows"
            )
        self.add(c)

    def deep_check(self) -> None:
        """A chain past the recursion limit: a RecursionError is a note (micrograd has it too)."""
        prog = DEEP_CHAIN
        name = f"gradient of {prog.name}"
        o = self.call(prog, prog.points[0], "backward")
        ref = self.refs.program(prog, prog.points[0])
        if o.status == "error" and o.error and o.error.get("type") == "RecursionError":
            self.result.notes.append(
                f"backward() on a chain of {prog.name.split()[3]} operations raises "
                "RecursionError: the topological sort is recursive and Python stops at 1,000 "
                "nested calls (as micrograd's does); an explicit stack (a while loop over a "
                "list) removes the limit"
            )
            return
        if not o.ok:
            self.add(self.judged(prog, name, o, ref.grads[1], "backward"))
            return
        got = o.result["grads"]
        c = Check(self.name, "backward", name, "pass", ref.grads[1], got[1], blame="backward")
        c.calls = _calls([o])
        c.message = "no RecursionError past the recursion limit"
        if not all(self.close(g, w, 1e-8) for g, w in zip(got, ref.grads)):
            c.status = "fail"
            c.message = f"d/db expected {dg.vs(ref.grads[1], got[1])}"
            c.hint = f"{prog.name}: {c.message}"
        self.add(c)

    def repeat_note(self) -> None:
        """What a second backward() on the same graph does, as a note."""
        o = self.call(REPEAT, REPEAT.points[0], "repeat")
        if not o.ok:
            return
        ref = self.refs.program(REPEAT, REPEAT.points[0])
        first, second = o.result["first"], o.result["second"]
        if not all(self.close(a, b) for a, b in zip(first, ref.grads)):
            return  # the first call is already wrong: the checks above say why
        base = (
            f"calling backward() twice on {REPEAT.name}: a.grad goes from {num(first[0])} to "
            f"{num(second[0])}"
        )
        if all(self.close(x, y) for x, y in zip(first, second)):
            self.result.notes.append(f"{base}: each call starts afresh (the grads are zeroed)")
        elif all(self.close(y, 2 * x) for x, y in zip(first, second)):
            self.result.notes.append(
                f"{base}: the gradients accumulate into the inputs, as PyTorch's do; zero them "
                "before each backward() (PyTorch: zero_grad())"
            )
        else:
            self.result.notes.append(
                f"{base}: the gradients compound, as micrograd's do (the inner nodes keep their "
                "old grads, which flow again); set every grad to 0 before calling backward() "
                "again (micrograd's zero_grad)"
            )

    # ---- root causes ---------------------------------------------------------------------------
    def find_root_causes(self) -> None:
        """Mark each failure that only follows from another one as its consequence: only when
        the check's own call trace shows that the other method ran, and that method fails on
        its own (``a - b`` fails because ``__sub__`` calls a wrong ``__add__``)."""
        checks = self.result.checks
        own: dict[str, Check] = {}  # method -> a check entered through it that blames it
        for c in checks:
            if (
                c.status == "fail"
                and c.op not in (None, "backward")
                and c.method
                and c.blame == blame_label(c.op, c.method)
            ):
                own.setdefault(c.method, c)

        def cause_of(c: Check) -> Check | None:
            for m in c.calls:
                other = own.get(m)
                if m != c.method and other is not None and other is not c:
                    return other
            return None

        # a method whose own check is a consequence of another method's is no root itself
        root: dict[str, Check] = {}
        for m, c in own.items():
            seen = {m}
            cur = c
            while True:
                nxt = cause_of(cur)
                if nxt is None or nxt.method in seen:
                    break
                seen.add(nxt.method or "")
                cur = nxt
            root[m] = cur
        for c in checks:
            if c.status != "fail" or c.consequence_of is not None or c.op is None:
                continue
            if c.op == "backward" and c.blame != "backward":
                continue
            other = cause_of(c)
            if other is None:
                continue
            top = root.get(other.method or "", other)
            if top is c:
                continue
            cause = top.blame or top.op or "?"
            c.consequence_of = cause
            via = other.method or cause
            if c.op == "backward":
                c.hint = (
                    f"{c.name}: fails because {cause} fails ({via} runs in it): fix {cause} first"
                )
            else:
                c.hint = (
                    f"{c.name}: fails only because {cause} fails (your {c.method} calls {via}): "
                    f"fix {cause} first"
                )
        # a new node whose grad starts at 1: every gradient through backward() is off by it
        if any(c.blame == "__init__" and c.status == "fail" for c in checks):
            for c in checks:
                if (
                    c.status == "fail"
                    and c.blame != "__init__"
                    and c.consequence_of is None
                    and ("_backward alone" not in c.name)
                    and (c.op == "backward" or "backward()" in c.message)
                ):
                    c.consequence_of = "__init__"
        # once backward()'s walk is known to be wrong, the per-op checks that fail only through
        # it (their _backward alone is right) are its consequence
        walk_bad = any(
            c.status == "fail" and c.op == "backward" and c.consequence_of is None for c in checks
        )
        if walk_bad:
            for c in checks:
                if c.status == "fail" and c.blame == "backward" and c.op != "backward":
                    c.consequence_of = "backward"


# ---- helpers -----------------------------------------------------------------------------------


def _trace_why(r: dict[str, Any], ref: Ref, near: Callable[..., bool] = close) -> str:
    """The traversal fault, from watching which node's _backward ran when."""
    if not all(near(a, b) for a, b in zip(r["ours"], ref.grads)):
        return (
            "even walked in the right order, your _backward rules give wrong gradients here: a "
            "rule goes wrong when an input is used more than once"
        )
    if r["calls"] == 0:
        return "backward() never calls the nodes' _backward"
    if r["twice"] is not None:
        label, n = r["twice"]
        return (
            f"backward() runs the _backward of a node used by two others (its _op is {label!r}) "
            f"{n} times: each node must be visited once; keep a visited set in the topological "
            "sort"
        )
    if r["early"] is not None:
        label, user = r["early"]
        if r["creation_order"]:
            return (
                "backward() runs the _backward steps from the inputs to the output; they must "
                "run from the output back: for node in reversed(topo)"
            )
        return (
            f"backward() runs the _backward of a node (its _op is {label!r}) before the node "
            f"that uses it ({user!r}) has passed its gradient down: go from the output back, in "
            "reversed topological order"
        )
    if r["never"]:
        return (
            f"backward() never runs the _backward of {r['never']} of the {r['inner']} nodes: "
            "the topological sort misses some"
        )
    return "each _backward is right, so the fault is in backward()'s walk over the graph"


#: seconds backward() may take on one of the checks' small graphs before it counts as too slow
SLOW_BACKWARD = 1.0

SEED_CHECK = "backward() sets the output's grad to 1 (the seed)"


def _back_calls(outs: Sequence[Outcome]) -> list[str]:
    out: list[str] = []
    for o in outs:
        out += [c for c in o.result.get("back_calls", []) if c not in out]
    return out


def _calls(outs: Sequence[Outcome]) -> list[str]:
    """The learner's functions the runs went through (the first run that says)."""
    for o in outs:
        calls = o.result.get("calls") or o.known.get("calls")
        if calls:
            return list(calls)
    return []


def _point(prog: Program, point: Sequence[float]) -> str:
    return ", ".join(f"{n} = {num(x)}" for n, x in zip(prog.leaves, point))


def _dname(prog: Program, leaf: str) -> str:
    return f"d({prog.name.replace(' ', '')})/d{leaf}"


def _rule(prog: Program, slot: dg.Slot) -> str:
    """The right local derivative of ``slot``'s input, in the program's names."""
    assert prog.op is not None
    names = dg.operands(prog, prog.points[0])[2]
    if prog.form == "sum":
        return "1"
    if prog.op == "pow":
        return dg.rule_text("pow", 0, names)
    return dg.rule_text(prog.op, slot.pos, names)
