"""gradcli: see, check and understand gradients.

The Python API: :class:`Value` (a micrograd-compatible scalar with reverse-mode autodiff),
:func:`grad` (gradients without touching ``.grad``; ``create_graph=True`` for gradients of
gradients), :func:`jvp` (forward mode), :func:`zero_grad`, and the losses on lists of Values.
:func:`check` (imported when first used) checks your own Value class or functions in a child
process; ``%load_ext gradcli`` gives the ``%gradcli`` magic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gradcli.engine import Value, grad, jvp, zero_grad
    from gradcli.learner.api import check
    from gradcli.nn import cross_entropy, log_softmax, logsumexp, nll, softmax

__version__ = "0.1.0"
__all__ = [
    "Value",
    "__version__",
    "check",
    "cross_entropy",
    "grad",
    "jvp",
    "log_softmax",
    "logsumexp",
    "nll",
    "softmax",
    "zero_grad",
]

# The API is imported on first use, not with the package: the command line (``gradcli ops``,
# ``gradcli check``) starts without the engine and the op table, and ``check`` brings the learner
# checker (and cloudpickle) only when it is first used.
_LAZY = {
    "Value": "gradcli.engine",
    "grad": "gradcli.engine",
    "jvp": "gradcli.engine",
    "zero_grad": "gradcli.engine",
    "cross_entropy": "gradcli.nn",
    "log_softmax": "gradcli.nn",
    "logsumexp": "gradcli.nn",
    "nll": "gradcli.nn",
    "softmax": "gradcli.nn",
    "check": "gradcli.learner.api",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gradcli' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext gradcli``: the ``%gradcli`` line magic (see :mod:`gradcli.magics`)."""
    from gradcli.magics import load_ipython_extension as load

    load(ipython)
