"""gradcli's adaptive method against numdifftools and scipy.differentiate, side by side.

The same functions, points and compiled numpy function for all three; the truth is sympy's
derivative at 50 digits. For each partial derivative: the relative error of each library's
default derivative, its evaluations, and gradcli's own error estimate. Issue 11's targets are
checked at the end: gradcli's median error at most the better library's median, never more than
30x worse than the better of the two on any case, at most 30 evaluations per partial, an error
estimate at least the true error in at least 90% of partials, and a median estimate/true ratio
of at most 1e4.

Run:  python benchmarks/bench_adaptive.py [--smoke]
Needs: pip install numdifftools scipy  (dev dependencies, not gradcli's)
"""

from __future__ import annotations

import argparse
import math
import statistics
import warnings

#: (expression, point): smooth functions where the derivative exists; the issue's sin at 1,
#: exp at 10, Rosenbrock, and the scales that defeat steps proportional to |x|
SUITE: list[tuple[str, dict[str, float]]] = [
    ("sin(x)", {"x": 1.0}),
    ("exp(x)", {"x": 10.0}),
    ("100*(y - x**2)**2 + (1 - x)**2", {"x": 1.2, "y": 0.8}),
    ("sin(x)", {"x": 1e6}),
    ("log(x)", {"x": 1e-6}),
    ("log(x)", {"x": 1e4}),
    ("cos(x)", {"x": 1e-3}),
    ("1/x", {"x": 1e-3}),
    ("sqrt(x)", {"x": 1e-8}),
    ("tanh(x)", {"x": 2.0}),
    ("atan(x)", {"x": 100.0}),
    ("x**5 - 3*x", {"x": 3.0}),
    ("exp(-x**2)", {"x": 1.5}),
    ("sigmoid(x)", {"x": 3.0}),
    ("x*y*exp(-x*y)", {"x": 0.8, "y": 1.3}),
    ("log(1 + x**2 + y**2)", {"x": -0.4, "y": 2.0}),
    ("gelu(x)", {"x": -1.3}),
    ("softplus(x)", {"x": 4.0}),
]
SMOKE = SUITE[:3]


def partial(f, names, point, name):  # type: ignore[no-untyped-def]
    """f along one variable, as a function of a float or an array (the others held fixed)."""
    import numpy as np

    def g(t):  # type: ignore[no-untyped-def]
        t = np.asarray(t, dtype=float)
        args = [np.full(t.shape, point[n]) if n != name else t for n in names]
        return f(*args)

    return g


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="three cases only (for CI)")
    args = ap.parse_args()
    import numdifftools as nd
    import numpy as np
    from scipy.differentiate import derivative

    from gradcli import reference
    from gradcli.evaluate import build
    from gradcli.methods import ridders
    from gradcli.numpy_fn import compile_numpy
    from gradcli.parse import parse

    rows = []
    for text, point in SMOKE if args.smoke else SUITE:
        expression = parse(text)
        names = expression.variables
        f = compile_numpy(expression)
        exact = reference.exact(expression, point).values
        f0 = build(expression, point).value
        ours = ridders(f, [point[n] for n in names], f0)
        for i, name in enumerate(names):
            truth = float(exact[name])
            g = partial(f, names, point, name)
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                calls = [0]

                def counted(t, g=g, calls=calls):  # type: ignore[no-untyped-def]
                    calls[0] += int(np.size(t))
                    return g(t)

                nd_value = float(nd.Derivative(counted)(point[name]))
                nd_evals = calls[0]
                res = derivative(g, point[name])
                sp_value, sp_evals = float(res.df), int(res.nfev)

            def rel(v: float, truth: float = truth) -> float:
                if not math.isfinite(v):
                    return math.inf
                return abs(v - truth) / abs(truth) if truth else abs(v)

            rows.append(
                {
                    "case": f"d/d{name} {text} at {point[name]:g}",
                    "ours": rel(float(ours.values[i])),
                    "estimate": float(ours.error[i]) / abs(truth)
                    if truth
                    else float(ours.error[i]),
                    "evals": int(ours.per_partial[i]),
                    "status": ours.status[i] if ours.status else "",
                    "nd": rel(nd_value),
                    "nd_evals": nd_evals,
                    "scipy": rel(sp_value),
                    "scipy_evals": sp_evals,
                }
            )

    print(
        f"{'case':<44} {'gradcli':>9} {'estimate':>9} {'evals':>5}   "
        f"{'numdifftools':>12} {'evals':>5}   {'scipy':>9} {'evals':>5}"
    )
    for r in rows:
        print(
            f"{r['case'][:44]:<44} {r['ours']:>9.1e} {r['estimate']:>9.1e} {r['evals']:>5}   "
            f"{r['nd']:>12.1e} {r['nd_evals']:>5}   {r['scipy']:>9.1e} {r['scipy_evals']:>5}"
        )

    def median(key: str) -> float:
        return statistics.median(r[key] for r in rows)

    better = [min(r["nd"], r["scipy"]) for r in rows]
    worst = max(r["ours"] / max(b, 1e-17) for r, b in zip(rows, better, strict=True))
    covered = sum(r["estimate"] >= r["ours"] for r in rows) / len(rows)
    ratio = statistics.median(r["estimate"] / max(r["ours"], 1e-17) for r in rows)
    evals = [r["evals"] for r in rows]
    print()
    print(
        f"median relative error: gradcli {median('ours'):.2e}, numdifftools {median('nd'):.2e}, "
        f"scipy {median('scipy'):.2e}"
    )
    print(
        f"evaluations per partial: gradcli mean {statistics.mean(evals):.1f} (max {max(evals)}), "
        f"numdifftools {statistics.mean(r['nd_evals'] for r in rows):.1f}, "
        f"scipy {statistics.mean(r['scipy_evals'] for r in rows):.1f}"
    )
    checks = [
        (
            "median at most the better library's",
            median("ours") <= min(median("nd"), median("scipy")),
        ),
        (f"never more than 30x worse than the better of the two (worst {worst:.1f}x)", worst <= 30),
        (f"at most 30 evaluations per partial (max {max(evals)})", max(evals) <= 30),
        (f"estimate >= true error in >= 90% of partials ({covered:.0%})", covered >= 0.9),
        (f"median estimate / true error <= 1e4 ({ratio:.1e})", ratio <= 1e4),
    ]
    for words, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {words}")


if __name__ == "__main__":
    main()
