"""Inputs given by the file (EXAMPLES) and a Function whose forward runs for one shape family
only: a row broadcast of a matrix and a vector."""

import torch


class RowScale(torch.autograd.Function):
    """x (N, D) scaled by a row s (D,): forward insists on exactly that."""

    @staticmethod
    def forward(ctx, x, s):
        if x.dim() != 2 or s.dim() != 1:
            raise ValueError("RowScale wants a matrix and a vector")
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, grad_out):
        x, s = ctx.saved_tensors
        return grad_out * s, (grad_out * x).sum(0)


class Gather(torch.autograd.Function):
    """An integer index tensor: gradcli cannot guess it, so the file gives EXAMPLES."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.save_for_backward(index)
        ctx.shape = x.shape
        return x[index]

    @staticmethod
    def backward(ctx, grad_out):
        (index,) = ctx.saved_tensors
        grad = torch.zeros(ctx.shape, dtype=grad_out.dtype)
        grad.index_add_(0, index, grad_out)
        return grad, None


class Float32Mul(torch.autograd.Function):
    """A float32 Function, checked in float32 with tolerances to match."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        return grad_out * b, grad_out * a


EXAMPLES = {
    "Gather": lambda: (torch.randn(5, 3, dtype=torch.float64), torch.tensor([0, 2, 2, 4])),
    "Float32Mul": lambda: (torch.randn(3, 4), torch.randn(3, 4)),
}


class BigSquare(torch.autograd.Function):
    """Too large for the entry-by-entry reference: checked along random directions."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return 2 * x * grad_out


EXAMPLES["BigSquare"] = lambda: (torch.randn(40, 30, dtype=torch.float64),)
