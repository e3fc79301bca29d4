"""gradcli: see, check and understand gradients."""

from gradcli.engine import Value

__version__ = "0.1.0"
__all__ = ["Value", "__version__"]
