"""Every command registers itself on ``gradcli.cli.app`` when its module is imported."""

from gradcli.commands import grad, ops  # noqa: F401
