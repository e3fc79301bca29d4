"""gradcli: see, check and understand gradients.

The Python API: :class:`Value` (a micrograd-compatible scalar with reverse-mode autodiff),
:func:`grad` (gradients without touching ``.grad``; ``create_graph=True`` for gradients of
gradients), :func:`jvp` (forward mode), :func:`zero_grad`, and the losses on lists of Values.
"""

from gradcli.engine import Value, grad, jvp, zero_grad
from gradcli.nn import cross_entropy, log_softmax, logsumexp, nll, softmax

__version__ = "0.1.0"
__all__ = [
    "Value",
    "__version__",
    "cross_entropy",
    "grad",
    "jvp",
    "log_softmax",
    "logsumexp",
    "nll",
    "softmax",
    "zero_grad",
]
