"""Every command registers itself on ``gradcli.cli.app`` when its module is imported."""

from gradcli.commands import compare, grad, graph, ops, softmax, verify_torch  # noqa: F401
