"""``gradcli.check`` outside a kernel: start-up stays light, misuse is a clear error, a missing
cloudpickle says how to get it, and the learner's faults are in the report, never raised."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gradcli.learner.api import check

CORPUS = Path(__file__).parent / "learner_corpus"


def _py(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_check_api_import_gradcli_does_not_load_the_checker():
    r = _py(
        "import sys, gradcli\n"
        "print(sorted(m for m in sys.modules if m.startswith('gradcli.learner') or "
        "m == 'cloudpickle'))\n"
        "from gradcli import check\nprint(check.__module__)"
    )
    assert r.stdout.splitlines() == ["[]", "gradcli.learner.api"], r.stderr


def test_check_api_without_cloudpickle_says_how_to_get_it():
    r = _py(
        "import sys; sys.modules['cloudpickle'] = None\n"
        "from gradcli import check\n"
        "class Value:\n    pass\n"
        "try:\n    check(Value)\nexcept ImportError as e:\n    print(e)\n"
    )
    assert "pip install 'gradcli[notebook]'" in r.stdout, r.stderr


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "text"),
    [
        ((), {}, TypeError, "check() needs something to check: e.g. check(Value)"),
        ((3,), {}, TypeError, "not a int"),
        ((), {"Value": 3}, TypeError, "takes a class"),
        ((), {"softmx": print}, TypeError, "unknown role 'softmx'"),
        (("no/such.py",), {}, ValueError, "no such file"),
        ((print,), {}, TypeError, "give it by its role"),
    ],
)
def test_check_api_misuse_is_a_clear_error(args, kwargs, error, text):
    with pytest.raises(error) as info:
        check(*args, **kwargs)
    assert text in str(info.value)


def _session_class(source: str) -> type:
    """A class defined as in a notebook (module __main__), so it travels by value."""
    ns: dict = {"__name__": "__main__"}
    exec(compile(source, "<cell>", "exec"), ns)
    return ns["Value"]


def test_check_api_faults_of_the_learner_are_in_the_report():
    lecture = (CORPUS / "lecture_value.py").read_text()
    exploding = _session_class(
        lecture.replace(
            "    def exp(self):\n", "    def exp(self):\n        import os; os._exit(9)\n"
        )
    )
    r = check(exploding, timeout=3, torch=False)
    assert r.status == "wrong" and r.root_causes == ["exp"] and r.passed > 0
    assert "exited with code 9" in repr(r)
    assert r.to_json()["failed"] == r.failed
    unpicklable = type("Value", (), {"lock": __import__("threading").Lock()})
    r = check(unpicklable, torch=False)
    assert r.status == "error" and "could not be sent" in repr(r)


def test_check_api_file_path_is_the_same_as_the_cli(tmp_path):
    r = check(CORPUS / "gradient_ok.py", torch=False)
    assert (r.status, r.passed, r.failed) == ("done", 3, 0)
    assert r.ok and "3 passed, 0 failed" in repr(r)
