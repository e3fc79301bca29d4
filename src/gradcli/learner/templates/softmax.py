"""Exercise 5: softmax and the negative log-likelihood, on your own Values.

softmax turns a list of scores (logits) into probabilities that are positive and sum to 1:

    softmax(x)_i = exp(x_i) / (exp(x_1) + ... + exp(x_n))

The negative log-likelihood of the correct class t is -log(p_t): small when the model gives t a
high probability. Its gradient with respect to the logits is p - onehot(t): every class gets
its probability, and the correct one gets it minus 1. Your Value's backward() should find
exactly that; gradcli check compares it (and, with torch installed, PyTorch's cross_entropy).

Try softmax([1000, 0]) once it works: exp(1000) is too large for a float. Subtracting the
largest logit first, exp(x_i - max(x)), gives the same probabilities and never overflows.

Exercise 6 is the PyTorch comparison: gradcli check does it for you when torch is installed.

Check it:  gradcli check softmax.py
"""

from value import (
    Value,
)  # your Value from exercise 4; to start here first: from gradcli import Value


def softmax(logits):
    """A list of Values in, a list of Values out: exp(x_i) / sum_j exp(x_j)."""
    raise NotImplementedError("exp each logit, add them up, divide each by the sum")


def nll(probs, target):
    """The negative log-likelihood -log(probs[target]) as a Value (probs: Values from softmax)."""
    raise NotImplementedError("return -probs[target].log()")
