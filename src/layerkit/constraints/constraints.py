"""Weight constraints: `MaxNorm`, `NonNeg`, `UnitNorm` and `MinMaxNorm`, with Keras 3's formulas
(norms are L2 norms along `axis`; `epsilon` is 1e-7, Keras's `backend.epsilon()`)."""
from layerkit.ops import core as C
from layerkit.ops import elementwise as E
from layerkit.ops import reduction as R

_EPSILON = 1e-7


def _norms(w, axis):
    return E.sqrt(R.sum(E.square(w), axis=axis, keepdims=True))


class Constraint:
    """Base class for weight constraints.

    A constraint works like a stateless function: called with a weight, it returns the weight
    projected onto the allowed set (e.g. clipped or normalized). Optimizers apply a variable's
    constraint after each update. Subclasses override `__call__`, and `get_config` when their
    constructor takes arguments.

    Example:

    ```python
    class NonNegative(lk.constraints.Constraint):
        def __call__(self, w):
            return w * lk.ops.cast(lk.ops.greater_equal(w, 0.0), dtype=w.dtype)
    ```
    """

    def __call__(self, w):
        """Applies the constraint to weight `w` (by default, returns it unchanged)."""
        return w

    def get_config(self):
        """Returns a JSON-serializable dict of the constructor arguments."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Instantiates a constraint from its config (the output of `get_config()`)."""
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MaxNorm(Constraint):
    """Constrains the weights incident to each hidden unit to have a norm at most `max_value`.

    `w * clip(norm, 0, max_value) / (epsilon + norm)`, the norm taken along `axis`.

    Args:
        max_value: the maximum norm of the incoming weights.
        axis: int or list of ints, the axes the norms are taken over. For a `Dense` kernel of
            shape `(input_dim, units)`, `axis=0` constrains each unit's weight vector; for a
            `Conv2D` kernel `(rows, cols, in_channels, filters)`, use `axis=[0, 1, 2]`.
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        w = C.to_float(w)
        norms = _norms(w, self.axis)
        desired = E.clip(norms, 0.0, float(self.max_value))
        return E.multiply(w, E.divide(desired, E.add(norms, _EPSILON)))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Constrains the weights to be non-negative: `maximum(w, 0)`."""

    def __call__(self, w):
        w = C.convert_to_tensor(w)
        return E.maximum(w, 0)


class UnitNorm(Constraint):
    """Constrains the weights incident to each hidden unit to have unit norm:
    `w / (epsilon + norm)`.

    Args:
        axis: int or list of ints, the axes the norms are taken over (see `MaxNorm`).
    """

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = C.to_float(w)
        return E.divide(w, E.add(_norms(w, self.axis), _EPSILON))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Constrains the weights incident to each hidden unit to have a norm between `min_value`
    and `max_value`.

    The weights are rescaled to the norm `rate * clip(norm, min_value, max_value) + (1 - rate) *
    norm`: `rate=1.0` enforces the bounds strictly, a smaller rate moves the norms towards them a
    step at a time.

    Args:
        min_value: the minimum norm of the incoming weights.
        max_value: the maximum norm of the incoming weights.
        rate: the rate at which the constraint is enforced.
        axis: int or list of ints, the axes the norms are taken over (see `MaxNorm`).
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        w = C.to_float(w)
        norms = _norms(w, self.axis)
        desired = E.add(E.multiply(E.clip(norms, float(self.min_value), float(self.max_value)), float(self.rate)),
                        E.multiply(norms, 1.0 - float(self.rate)))
        return E.multiply(w, E.divide(desired, E.add(norms, _EPSILON)))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}
