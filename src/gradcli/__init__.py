"""gradcli: see, check and understand gradients."""

from gradcli.engine import Value
from gradcli.nn import cross_entropy, log_softmax, logsumexp, nll, softmax

__version__ = "0.1.0"
__all__ = [
    "Value",
    "__version__",
    "cross_entropy",
    "log_softmax",
    "logsumexp",
    "nll",
    "softmax",
]
