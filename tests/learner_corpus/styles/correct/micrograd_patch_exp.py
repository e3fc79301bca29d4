# needs micrograd installed:  pip install micrograd
# micrograd's Value has + * ** relu; the exercises also want exp, log and tanh,
# so I add them to the class from outside.
import math

from micrograd.engine import Value


def exp(self):
    out = Value(math.exp(self.data), (self,), 'exp')

    def _backward():
        self.grad += out.data * out.grad
    out._backward = _backward
    return out


def log(self):
    out = Value(math.log(self.data), (self,), 'log')

    def _backward():
        self.grad += (1 / self.data) * out.grad
    out._backward = _backward
    return out


def tanh(self):
    t = math.tanh(self.data)
    out = Value(t, (self,), 'tanh')

    def _backward():
        self.grad += (1 - t * t) * out.grad
    out._backward = _backward
    return out


Value.exp = exp
Value.log = log
Value.tanh = tanh


def softmax(logits):
    counts = [logit.exp() for logit in logits]
    denominator = sum(counts)
    out = [c / denominator for c in counts]
    return out


def nll(probs, target):
    return -probs[target].log()


logits = [Value(0.0), Value(3.0), Value(-2.0), Value(1.0)]
probs = softmax(logits)
loss = -probs[3].log()
loss.backward()
print(loss.data, [l.grad for l in logits])
