"""The expression as a vectorised numpy function: what every finite-difference method evaluates.

:func:`compile_numpy` turns the validated tree into a flat program (each op's ``numpy``
counterpart from the op table, children before parents, constants folded, intermediates freed
after their last use); :func:`evaluate_perturbed` runs it on all the perturbed points a method
needs (x + h e_i for every variable i, ...) at once, in chunks that bound the memory. Complex
inputs give the complex-step derivative. numpy is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gradcli.expr import Expression

#: numbers one batch of perturbed points may hold (variables x points), about 32 MB of float64
CHUNK = 1 << 22

#: ``progress(n)``: n more function evaluations are done
Progress = Callable[[int], None]


class NumpyFunction:
    """The expression as a numpy function of one array per variable (in ``variables`` order).

    Compiled once from the tree into a flat program (children before parents, constants folded,
    each intermediate array freed after its last use); each call runs the program once, on whole
    arrays. Works on real and complex arrays alike.
    """

    def __init__(self, expression: Expression) -> None:
        self.variables = list(expression.variables)
        index = {name: i for i, name in enumerate(self.variables)}
        nvars = len(self.variables)
        reg: dict[int, int] = {}
        self.constants: list[tuple[int, float]] = []
        program: list[tuple[Any, tuple[int, ...], tuple[float, ...], int]] = []
        nregs = nvars
        for node in expression.nodes:
            if node.kind == "var":
                reg[id(node)] = index[node.name]
            elif node.const is not None:
                reg[id(node)] = nregs
                self.constants.append((nregs, node.const))
                nregs += 1
            else:
                args = tuple(reg[id(a)] for a in node.args)
                reg[id(node)] = nregs
                program.append((node.op.numpy, args, node.params, nregs))
                nregs += 1
        self.output = reg[id(expression.root)]
        self.nregs = nregs
        # free each intermediate after the step that uses it last
        last: dict[int, int] = {}
        for step, (_, args, _, _) in enumerate(program):
            for a in args:
                last[a] = step
        frees: list[list[int]] = [[] for _ in program]
        fixed = {c for c, _ in self.constants}
        for r, step in last.items():
            if r >= nvars and r != self.output and r not in fixed:
                frees[step].append(r)
        self.program = [(*p, tuple(f)) for p, f in zip(program, frees, strict=True)]
        self.size = len(program)

    def __call__(self, *arrays: Any) -> Any:
        import numpy as np

        regs: list[Any] = [None] * self.nregs
        regs[: len(arrays)] = arrays
        for r, c in self.constants:
            regs[r] = np.float64(c)
        for fn, args, params, out, frees in self.program:
            regs[out] = fn(np, *[regs[a] for a in args], *params)
            for r in frees:
                regs[r] = None
        result = regs[self.output]
        shape = np.shape(arrays[0]) if arrays else ()
        return np.broadcast_to(result, shape) if np.shape(result) != shape else result


def compile_numpy(expression: Expression) -> NumpyFunction:
    """The expression as a vectorised numpy function: ``f(x_array, y_array, ...) -> array``."""
    return NumpyFunction(expression)


def evaluate_perturbed(
    f: NumpyFunction,
    base: Sequence[float],
    var: Any,
    delta: Any,
    progress: Progress | None = None,
) -> Any:
    """``out[r] = f(base + delta[r] * e_var[r])`` for every row r, in memory-bounded chunks.

    ``delta`` complex gives complex evaluations. Non-finite results are left as they are (nan,
    inf): the caller decides what they mean. numpy's warnings are silenced.
    """
    import numpy as np

    n = len(base)
    m = len(var)
    dtype = complex if np.iscomplexobj(delta) else float
    out = np.empty(m, dtype=dtype)
    b = np.asarray(base, dtype=dtype)
    chunk = max(1, CHUNK // max(1, n))
    with np.errstate(all="ignore"):
        for s in range(0, m, chunk):
            e = min(m, s + chunk)
            x = np.repeat(b[:, None], e - s, axis=1)
            x[var[s:e], np.arange(e - s)] += delta[s:e]
            out[s:e] = f(*x)
            if progress is not None:
                progress(e - s)
    return out
