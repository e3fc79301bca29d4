"""`gradcli grade` on a generated class, against one `gradcli check --json` per student.

The class (issue 17): 40 submissions of the lecture's Value class, most right, some with a wrong
rule, one whose backward() never returns, one that crashes at import. The baseline is the loop a
teacher writes today, `for f in ...; do gradcli check "$f" --json; done`, which pays the start-up
(and PyTorch's import) once per student. Both run with and without torch; the last line is the
time from `gradcli.check(Value)` in a Jupyter kernel to its result (when nbclient is installed).
Aim: the whole class in under 30 s on 2 cores.

Run:  python benchmarks/bench_grade.py [--students 40] [--jobs N] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LECTURE = (ROOT / "tests" / "learner_corpus" / "lecture_value.py").read_text()
MISTAKES = [
    ("self.grad += other.data * out.grad", "self.grad += self.data * out.grad"),
    ("self.grad += other.data * out.grad", "self.grad = other.data * out.grad"),
    ("        build_topo(self)\n", "        build_topo(self)\n        topo = topo[::-1]\n"),
]


def make_class(root: Path, n: int) -> Path:
    """``n`` students: one hangs in backward(), one crashes at import, every fifth is wrong."""
    cls = root / "class"
    for i in range(n):
        d = cls / f"student{i:02d}"
        d.mkdir(parents=True)
        src = LECTURE
        if i == 1:
            src = src.replace(
                "        build_topo(self)\n",
                "        build_topo(self)\n        while True:\n            pass\n",
            )
        elif i == 2:
            src = "import ctypes\nctypes.string_at(0)\n" + src
        elif i % 5 == 0:
            old, new = MISTAKES[(i // 5) % len(MISTAKES)]
            assert old in src
            src = src.replace(old, new, 1)
        (d / "value.py").write_text(src)
    return cls


def timed(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return time.perf_counter() - t0, r.stdout


def sequential(files: list[Path], torch: bool, timeout: str) -> float:
    t0 = time.perf_counter()
    for f in files:
        extra = [] if torch else ["--no-torch"]
        subprocess.run(
            [
                sys.executable,
                "-m",
                "gradcli",
                "check",
                str(f),
                "--json",
                "--timeout",
                timeout,
                *extra,
            ],
            capture_output=True,
            check=False,
        )
    return time.perf_counter() - t0


def kernel_first_output() -> str:
    """Seconds from running a cell with gradcli.check(Value) to its result, in a kernel."""
    try:
        import nbclient
        import nbformat
    except ImportError:
        return "skipped (pip install nbclient nbformat ipykernel)"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(LECTURE),
        nbformat.v4.new_code_cell(
            "import time\nt0 = time.perf_counter()\nfrom gradcli import check\n"
            "r = check(Value)\nprint(f'{time.perf_counter() - t0:.2f}')"
        ),
        nbformat.v4.new_code_cell(
            "t0 = time.perf_counter()\nr = check(Value)\nprint(f'{time.perf_counter() - t0:.2f}')"
        ),
    ]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    first = nb.cells[1].outputs[0]["text"].strip()
    again = nb.cells[2].outputs[0]["text"].strip()
    return f"{first} s (first call, imports included); {again} s (again)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=40)
    ap.add_argument("--jobs", type=int, default=None, help="default: the machine's cores")
    ap.add_argument("--timeout", default="2", help="per-check limit (the hanging student)")
    ap.add_argument("--no-sequential", action="store_true", help="skip the slow baseline")
    ap.add_argument("--smoke", action="store_true", help="a tiny run that only proves it works")
    args = ap.parse_args()
    if args.smoke:
        args.students, args.no_sequential = 4, True
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with tempfile.TemporaryDirectory() as tmp:
        cls = make_class(Path(tmp), args.students)
        files = sorted(cls.glob("*/value.py"))
        jobs = ["--jobs", str(args.jobs)] if args.jobs else []
        grade = [sys.executable, "-m", "gradcli", "grade", str(cls), "--format", "csv"]
        grade += ["--timeout", args.timeout, *jobs]
        rows: list[tuple[str, float, float | None]] = []
        for torch in (False, True):
            extra = [] if torch else ["--no-torch"]
            t, out = timed(grade + extra)
            statuses = [line.split(",")[1] for line in out.splitlines()[1:]]
            assert len(statuses) == args.students, out[-2000:]
            base = None if args.no_sequential else sequential(files, torch, args.timeout)
            rows.append(("with PyTorch" if torch else "--no-torch", t, base))
        counts = {s: statuses.count(s) for s in dict.fromkeys(statuses)}
    print(f"{args.students} submissions on {cores} cores ({counts})")
    for name, t, base in rows:
        line = f"  gradcli grade, {name:13s}: {t:6.1f} s"
        if base is not None:
            line += f"   {len(files)} x gradcli check --json: {base:6.1f} s ({base / t:4.1f}x)"
        print(line)
    print("  aim: the whole class in under 30 s on 2 cores")
    if not args.smoke:
        print(f"  gradcli.check(Value) in a Jupyter kernel: {kernel_first_output()}")


if __name__ == "__main__":
    main()
