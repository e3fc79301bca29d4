"""torch.autograd.Function subclasses with one planted bug each; the class's docstring names the
mistake gradcli must diagnose."""

import torch


class SquareFactor(torch.autograd.Function):
    """factor: the 2 of x**2 is missing."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return x * grad_out


class SinSign(torch.autograd.Function):
    """sign: sin's derivative written as -cos."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sin(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return -torch.cos(x) * grad_out


class TanhZero(torch.autograd.Function):
    """zero: the gradient buffer is never filled in."""

    @staticmethod
    def forward(ctx, x):
        y = torch.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        grad = torch.zeros_like(y)
        return grad


class SumIgnoresGrad(torch.autograd.Function):
    """ignores_grad_out: a reduction whose backward returns ones."""

    @staticmethod
    def forward(ctx, x, dim):
        ctx.shape = x.shape
        return x.sum(dim)

    @staticmethod
    def backward(ctx, grad_out):
        return torch.ones(ctx.shape, dtype=grad_out.dtype), None


class MatMulNoTranspose(torch.autograd.Function):
    """shape_error: grad_out @ b where grad_out @ b.T belongs."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        return grad_out @ b, a.T @ grad_out


class MatMulOneGradient(torch.autograd.Function):
    """count: only the gradient of a is returned."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad_out):
        _a, b = ctx.saved_tensors
        return grad_out @ b.T


class MatMulFloat32(torch.autograd.Function):
    """dtype: the gradients are computed in float32."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        return (grad_out @ b.T).float(), (a.T @ grad_out).float()


class BiasWrongDim(torch.autograd.Function):
    """reduction_dim: the bias's gradient is summed over the features, not the batch."""

    @staticmethod
    def forward(ctx, x, b):
        return x + b

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out, grad_out.sum(1)


class SoftmaxDiagonal(torch.autograd.Function):
    """diagonal_only: softmax's backward without the cross terms."""

    @staticmethod
    def forward(ctx, x):
        y = torch.softmax(x, -1)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out * y * (1 - y)


class NormWeightWrongDim(torch.autograd.Function):
    """reduction_dim: a norm's weight gradient summed over the wrong dim."""

    @staticmethod
    def forward(ctx, x, weight):
        rms = torch.sqrt((x * x).mean(-1, keepdim=True) + 1e-6)
        xhat = x / rms
        ctx.save_for_backward(xhat, rms, weight)
        return xhat * weight

    @staticmethod
    def backward(ctx, grad_out):
        xhat, rms, weight = ctx.saved_tensors
        d = xhat.shape[-1]
        g = grad_out * weight
        gx = (g - xhat * (g * xhat).sum(-1, keepdim=True) / d) / rms
        return gx, (grad_out * xhat).sum(-1)


class ScaleInPlace(torch.autograd.Function):
    """forward_mutates: forward doubles its input in place (after saving it)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        x.mul_(2)
        return x * 3

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out * 3


class Cumsum(torch.autograd.Function):
    """mismatch: cumsum's backward without the flip (nothing in the catalogue fits)."""

    @staticmethod
    def forward(ctx, x):
        return torch.cumsum(x, -1)

    @staticmethod
    def backward(ctx, grad_out):
        return torch.cumsum(grad_out, -1)


class ScaleGradForValue(torch.autograd.Function):
    """grad_for_value: a gradient returned for the float argument."""

    @staticmethod
    def forward(ctx, x, factor: float):
        ctx.factor = factor
        return x * factor

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out * ctx.factor, grad_out.sum()


class ExpSavedThenChanged(torch.autograd.Function):
    """inplace_saved: the saved output is changed in place after save_for_backward."""

    @staticmethod
    def forward(ctx, x):
        y = torch.exp(x)
        ctx.save_for_backward(y)
        y.add_(1.0)
        return y.clone()

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out * y


class SquareChangesSaved(torch.autograd.Function):
    """backward_mutates: backward doubles the saved input in place."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        x.mul_(2)
        return grad_out * x


class SquareTransposed(torch.autograd.Function):
    """wrong_shape: the gradient comes back transposed."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return (2 * x * grad_out).T


class DoubleOnMeta(torch.autograd.Function):
    """device: the gradient is created on another device."""

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad_out):
        return torch.empty(grad_out.shape, dtype=grad_out.dtype, device="meta")


class BigSquareFactor(torch.autograd.Function):
    """factor: too large for the entry-by-entry reference (checked along random directions)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return x * grad_out


class SquareLastColumn(torch.autograd.Function):
    """pattern: the last column's gradient is dropped."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        g = 2 * x * grad_out
        g[..., -1] = 0
        return g


EXAMPLES = {"BigSquareFactor": lambda: (torch.randn(40, 30, dtype=torch.float64),)}
