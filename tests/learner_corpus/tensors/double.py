"""Backward passes right to first order whose own derivative (--double) is wrong."""

import torch


class CubeHalfGraph(torch.autograd.Function):
    """factor: one x of 3 x**2 is detached, so backward's own d/dx is 3 x grad_out, not
    6 x grad_out (a factor of 1/2 at second order)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return 3 * x * x.detach() * grad_out


class SquareRight(torch.autograd.Function):
    """Right to second order."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return 2 * x * grad_out
