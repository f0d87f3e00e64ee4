"""Weight penalties: `L1`, `L2`, `L1L2` and `OrthogonalRegularizer`, written in `layerkit.ops`
so a penalty is differentiable with respect to the weight it is computed from."""
import math

import numpy as np

from layerkit.ops import core as C
from layerkit.ops import elementwise as E
from layerkit.ops import layout as S
from layerkit.ops import linalg as L
from layerkit.ops import reduction as R

_EPSILON = 1e-7  # Keras's backend.epsilon()


def validate_float_arg(owner, value, name):
    """`value` as a float, or a ValueError unless it is a finite, non-negative number."""
    if (not isinstance(value, (float, int, np.floating, np.integer)) or isinstance(value, bool)
            or math.isinf(value) or math.isnan(value) or value < 0):
        raise ValueError(f"{owner}: argument `{name}` must be a non-negative finite float, "
                         f"received {name}={value!r}.")
    return float(value)


class Regularizer:
    """Regularizer base class.

    A regularizer is called with a weight tensor and returns a scalar penalty that is added to
    the loss. Any function `f(weight) -> scalar tensor` can be used as a regularizer; subclass
    this class to make one serializable (implement `__call__` and `get_config`).

    Example:

    ```python
    class L2Regularizer(lk.regularizers.Regularizer):
        def __init__(self, l2=0.0):
            self.l2 = l2

        def __call__(self, x):
            return self.l2 * lk.ops.sum(lk.ops.square(x))

        def get_config(self):
            return {"l2": float(self.l2)}
    ```
    """

    def __call__(self, x):
        """Computes the penalty of tensor `x`: a scalar tensor (zero for the base class)."""
        return C.zeros((), dtype=C.to_float(x).dtype)

    @classmethod
    def from_config(cls, config):
        """Creates a regularizer from its config (the output of `get_config()`)."""
        return cls(**config)

    def get_config(self):
        """Returns the regularizer's config, a JSON-serializable dict of constructor arguments."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config().")

    def __repr__(self):
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = ""
        return f"{type(self).__name__}({args})"


class L1L2(Regularizer):
    """A regularizer that applies both L1 and L2 penalties.

    `loss = l1 * sum(abs(x)) + l2 * sum(square(x))`

    Example:

    >>> import layerkit as lk
    >>> round(float(L1L2(l1=0.01, l2=0.01)(lk.ops.ones((2, 2)))), 6)  # 0.04 + 0.04
    0.08

    Args:
        l1: L1 regularization factor (None is 0.0).
        l2: L2 regularization factor (None is 0.0).

    The name `"l1_l2"` (and `"L1L2"`) resolves to `L1L2()`, whose factors are both 0.0 in Keras 3.
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = validate_float_arg("L1L2", 0.0 if l1 is None else l1, "l1")
        self.l2 = validate_float_arg("L1L2", 0.0 if l2 is None else l2, "l2")

    def __call__(self, x):
        x = C.to_float(x)
        penalty = C.zeros((), dtype=x.dtype)
        if self.l1 != 0.0:
            penalty = E.add(penalty, E.multiply(R.sum(E.abs(x)), self.l1))
        if self.l2 != 0.0:
            penalty = E.add(penalty, E.multiply(R.sum(E.square(x)), self.l2))
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """A regularizer that applies an L1 penalty: `loss = l1 * sum(abs(x))`.

    Args:
        l1: L1 regularization factor (None is the default, 0.01).
    """

    def __init__(self, l1=0.01):
        self.l1 = validate_float_arg("L1", 0.01 if l1 is None else l1, "l1")

    def __call__(self, x):
        return E.multiply(R.sum(E.abs(C.to_float(x))), self.l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """A regularizer that applies an L2 penalty: `loss = l2 * sum(square(x))`.

    Args:
        l2: L2 regularization factor (None is the default, 0.01).
    """

    def __init__(self, l2=0.01):
        self.l2 = validate_float_arg("L2", 0.01 if l2 is None else l2, "l2")

    def __call__(self, x):
        return E.multiply(R.sum(E.square(C.to_float(x))), self.l2)

    def get_config(self):
        return {"l2": self.l2}


def _l2_normalize(x, axis):
    # Keras's ops.normalize(order=2): x * min(rsqrt(sum(x**2)), 1 / epsilon), so a zero vector stays 0.
    inv_norm = E.rsqrt(R.sum(E.square(x), axis=axis, keepdims=True))
    return E.multiply(x, E.minimum(inv_norm, 1.0 / _EPSILON))


class OrthogonalRegularizer(Regularizer):
    """Regularizer that encourages the rows (or columns) of a matrix to be orthogonal.

    The penalty is `factor` times the mean absolute dot product between the L2-normalized rows
    (`mode="rows"`) or columns (`mode="columns"`) of the input, over all distinct pairs:
    `factor * 0.5 * sum(abs(P * (1 - I))) / (n * (n - 1) / 2)` with `P` the matrix of dot products.

    Example:

    >>> import layerkit as lk
    >>> round(float(OrthogonalRegularizer(factor=0.5)(lk.ops.convert_to_tensor([[1., 0.], [1., 1.]]))), 4)
    0.3536

    Args:
        factor: regularization factor, a non-negative float.
        mode: `"rows"` or `"columns"`.

    With a single row (column) there are no pairs and the penalty is 0 (Keras gives NaN).
    """

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = validate_float_arg("OrthogonalRegularizer", factor, "factor")
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer: argument `mode` must be one of 'rows', 'columns', "
                             f"received mode={mode!r}.")
        self.mode = mode

    def __call__(self, inputs):
        x = C.to_float(inputs)
        if x.ndim != 2:
            raise ValueError(f"OrthogonalRegularizer: inputs must have rank 2, received a tensor of shape "
                             f"{C.shape_str(x.shape)}.")
        if self.mode == "rows":
            x = _l2_normalize(x, axis=1)
            product = L.matmul(x, S.transpose(x))
            size = x.shape[0]
        else:
            x = _l2_normalize(x, axis=0)
            product = L.matmul(S.transpose(x), x)
            size = x.shape[1]
        off_diagonal = E.multiply(product, E.subtract(1.0, C.eye(size, dtype=x.dtype)))
        num_pairs = max(size * (size - 1) / 2.0, 1.0)
        return E.multiply(R.sum(E.abs(off_diagonal)), self.factor * 0.5 / num_pairs)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}
