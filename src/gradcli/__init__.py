"""gradcli: see, check and understand gradients.

The Python API: :class:`Value` (a micrograd-compatible scalar with reverse-mode autodiff),
:func:`grad` (gradients without touching ``.grad``; ``create_graph=True`` for gradients of
gradients), :func:`jvp` (forward mode), :func:`zero_grad`, and the losses on lists of Values.
:func:`check` (imported when first used) checks your own Value class or functions in a child
process; ``%load_ext gradcli`` gives the ``%gradcli`` magic.
"""

from typing import Any

from gradcli.engine import Value, grad, jvp, zero_grad
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


def __getattr__(name: str) -> Any:
    # the learner checker (and cloudpickle) load only when check is first used: start-up stays fast
    if name == "check":
        from gradcli.learner.api import check

        return check
    raise AttributeError(f"module 'gradcli' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext gradcli``: the ``%gradcli`` line magic (see :mod:`gradcli.magics`)."""
    from gradcli.magics import load_ipython_extension as load

    load(ipython)
