"""Correct torch.autograd.Function subclasses, written in several styles: gradcli must pass
every one of them at every shape it tries (no false alarms)."""

import torch
from torch.autograd.function import once_differentiable


class Square(torch.autograd.Function):
    """Elementwise, save_for_backward, staticmethod decorators."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return 2 * x * grad_out


class Mul(torch.autograd.Function):
    """Two inputs, broadcasting left to torch (it sums a gradient down to the input's shape)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        return grad_out * b, grad_out * a


class MatMul(torch.autograd.Function):
    """Tensors kept as ctx attributes, not save_for_backward."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.a = a.detach()
        ctx.b = b.detach()
        return a @ b

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out @ ctx.b.T, ctx.a.T @ grad_out


class Linear(torch.autograd.Function):
    """x @ w.T + b, the bias summed over the batch; returns a tuple."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return x @ w.T + b

    @staticmethod
    def backward(ctx, grad_out):
        x, w = ctx.saved_tensors
        return (grad_out @ w, grad_out.T @ x, grad_out.sum(0))


class BiasAdd(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, b):
        return x + b

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out, grad_out.sum(0)


class Softmax(torch.autograd.Function):
    """A non-tensor argument (dim) with a None gradient; once_differentiable."""

    @staticmethod
    def forward(ctx, x, dim: int):
        y = torch.softmax(x, dim)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        dot = (grad_out * y).sum(ctx.dim, keepdim=True)
        return y * (grad_out - dot), None


class LayerNorm(torch.autograd.Function):
    """Normalise over the last dim, then scale and shift: weight and bias summed over rows."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        mean = x.mean(-1, keepdim=True)
        xc = x - mean
        var = (xc * xc).mean(-1, keepdim=True)
        rstd = 1.0 / torch.sqrt(var + 1e-5)
        xhat = xc * rstd
        ctx.save_for_backward(xhat, rstd, weight)
        return xhat * weight + bias

    @staticmethod
    def backward(ctx, grad_out):
        xhat, rstd, weight = ctx.saved_tensors
        d = xhat.shape[-1]
        gxhat = grad_out * weight
        gx = (
            rstd
            / d
            * (
                d * gxhat
                - gxhat.sum(-1, keepdim=True)
                - xhat * (gxhat * xhat).sum(-1, keepdim=True)
            )
        )
        dims = tuple(range(grad_out.dim() - 1))
        return gx, (grad_out * xhat).sum(dims), grad_out.sum(dims)


class SumDim(torch.autograd.Function):
    """A reduction over one dim, the dim given as an argument."""

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        ctx.shape = x.shape
        return x.sum(dim)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.unsqueeze(ctx.dim).expand(ctx.shape), None


class MaxRow(torch.autograd.Function):
    """Two outputs, the indices marked non-differentiable."""

    @staticmethod
    def forward(ctx, x):
        values, idx = x.max(dim=-1)
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(idx)
        ctx.shape = x.shape
        return values, idx

    @staticmethod
    def backward(ctx, grad_values, grad_idx):
        (idx,) = ctx.saved_tensors
        grad = torch.zeros(ctx.shape, dtype=grad_values.dtype, device=grad_values.device)
        grad.scatter_(-1, idx.unsqueeze(-1), grad_values.unsqueeze(-1))
        return grad


class Exp(torch.autograd.Function):
    """Saves its output; differentiable twice (--double)."""

    @staticmethod
    def forward(ctx, x):
        y = torch.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out * y


class Scale(torch.autograd.Function):
    """A float argument and its None."""

    @staticmethod
    def forward(ctx, x, factor: float):
        ctx.factor = factor
        return x * factor

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out * ctx.factor, None


class Cube(torch.autograd.Function):
    """Differentiable twice through the saved input."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return 3 * x**2 * grad_out


class Dropout(torch.autograd.Function):
    """Random in forward: gradcli seeds torch before every call, so the mask is the same."""

    @staticmethod
    def forward(ctx, x):
        mask = (torch.rand(x.shape, dtype=x.dtype) > 0.5).to(x.dtype) * 2.0
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad_out):
        (mask,) = ctx.saved_tensors
        return grad_out * mask


class MaskedScale(torch.autograd.Function):
    """A float mask treated as a constant: None for it is a choice, noted, not failed."""

    @staticmethod
    def forward(ctx, x, mask):
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad_out):
        (mask,) = ctx.saved_tensors
        return grad_out * mask, None


class ReluInPlace(torch.autograd.Function):
    """Changes its input in place, declared with ctx.mark_dirty: allowed."""

    @staticmethod
    def forward(ctx, x):
        ctx.mark_dirty(x)
        x.clamp_(min=0)
        ctx.save_for_backward(x)
        return x

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out * (y > 0).to(grad_out.dtype)


class Identity(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, g):
        return g


class Flatten(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        return x.reshape(-1)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape)


class MulNeeds(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = g * b
        if ctx.needs_input_grad[1]:
            gb = g * a
        return ga, gb


class Tanh(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(False)
        y = x.tanh()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        if g is None:
            return None
        (y,) = ctx.saved_tensors
        return g * (1 - y * y)


class Pow(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, p: float = 3.0):
        ctx.save_for_backward(x)
        ctx.p = p
        return x.abs() ** p

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ctx.p * x.abs() ** (ctx.p - 1) * x.sign(), None


class Sort(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y, idx = torch.sort(x, dim=-1)
        ctx.save_for_backward(idx)
        ctx.mark_non_differentiable(idx)
        return y, idx

    @staticmethod
    def backward(ctx, gy, gi):
        (idx,) = ctx.saved_tensors
        out = torch.zeros_like(gy)
        out.scatter_(-1, idx, gy)
        return out
