"""Variable: a named, mutable tensor. Optimizers and layers update it in place."""
import numpy as np

from layerkit.backend import as_array, core, standardize_dtype
from layerkit import ops
from layerkit.ops.operation import unique_name
from layerkit.ops.primitive import TRACE
from layerkit.ops.tensor import Tensor


class Variable(Tensor):
    """A tensor whose value can change: model weights, optimizer slots, metric state.

    It takes part in ops like any tensor; a trainable variable is watched by every active
    `GradientTape` automatically.

    Args:
        initializer: the initial value (array-like), or a callable `f(shape, dtype)` with `shape`.
        shape: required when `initializer` is a callable.
        dtype: defaults to the value's dtype (floatx for Python floats).
        trainable: whether gradients are taken with respect to it.
        name: a readable name (unique names are made up when None).
    """

    __slots__ = ("name", "trainable", "path", "regularizer", "constraint", "_version")

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, name=None):
        if callable(initializer):
            if shape is None:
                raise ValueError("Variable: `shape` is required when `initializer` is a callable.")
            # a variable made while a function is traced (a layer built on its first call) still
            # gets a concrete initial value now: initializers run eagerly
            previous, TRACE.tracer = TRACE.tracer, None
            try:
                value = initializer(tuple(shape), standardize_dtype(dtype))
            finally:
                TRACE.tracer = previous
        else:
            value = initializer
        data = as_array(np.asarray(value) if isinstance(value, Tensor) else value, dtype)
        if shape is not None and tuple(data.shape) != tuple(shape):
            raise ValueError(f"Variable {name!r}: the initial value has shape {data.shape}, expected {tuple(shape)}.")
        super().__init__(np.array(data, copy=True))  # own the buffer: it is written in place
        self.name = name or unique_name("variable")
        self.path = self.name
        self.trainable = bool(trainable)
        self.regularizer = None  # set by Layer.add_weight: its penalty joins the layer's losses
        self.constraint = None  # set by Layer.add_weight: optimizers project the variable after updates
        self._version = 0  # counts assigns: a tape refuses gradients through overwritten values
        created = getattr(TRACE.tracer, "created", None)
        if created is not None:  # made while a function is traced: it lives on past the trace
            created.append(self)

    @property
    def value(self):
        """The current value as an immutable Tensor (a copy, unaffected by later assigns) that
        tapes differentiate as the variable, as in Keras. In a traced function, the value at
        that point of the function, read when it runs (not the value at trace time)."""
        tracer = TRACE.tracer
        current = tracer.read(self) if tracer is not None else self
        # reshape of a variable: a copy eagerly, a view of the value read at this point when traced
        return ops.reshape(current, self.shape) if current is self else current

    def numpy(self):
        return self._data.copy()

    def __array__(self, dtype=None, copy=None):
        return np.array(self._data, dtype=dtype, copy=True)

    def _checked(self, value, what):
        data = as_array(np.asarray(value) if isinstance(value, Tensor) else value, self.dtype)
        if data.shape != self._data.shape:
            raise ValueError(f"Variable '{self.name}'.{what}: expected a value of shape {self._data.shape}, "
                             f"received {data.shape}.")
        return data

    def assign(self, value):
        """Writes `value` into the variable's buffer (same shape; cast to its dtype). Inside a
        traced function the write becomes part of the graph."""
        tracer = TRACE.tracer
        if tracer is not None:
            tracer.assign(self, value)
            return self
        core.assign(self._data, self._checked(value, "assign"))
        self._version += 1
        return self

    def assign_add(self, delta):
        """`assign(self + delta)`, as in Keras: `delta` broadcasts, and the sum is cast to the
        variable's dtype (an int variable plus 0.6 keeps its value: 1 + 0.6 = 1.6 -> 1)."""
        return self._assign_op(ops.add, core.add, delta, "assign_add")

    def assign_sub(self, delta):
        """`assign(self - delta)`, as in Keras (see `assign_add`)."""
        return self._assign_op(ops.subtract, core.subtract, delta, "assign_sub")

    def _assign_op(self, op, kernel, delta, what):
        if TRACE.tracer is not None:
            return self.assign(op(self, delta))
        data = delta._data if delta.__class__ is Tensor else None
        if data is not None and data.dtype == self._data.dtype and data.shape == self._data.shape:
            core.assign(self._data, kernel(self._data, data))  # the usual update: no conversion
        else:
            shape = tuple(getattr(delta, "shape", np.shape(delta)))
            try:
                fits = np.broadcast_shapes(self._data.shape, shape) == self._data.shape
            except ValueError:
                fits = False
            if not fits:
                raise ValueError(f"Variable '{self.name}'.{what}: expected a value of shape {self._data.shape} (or "
                                 f"one that broadcasts to it), received {shape}.")
            core.assign(self._data, self._checked(op(self, delta), what))
        self._version += 1
        return self

    def __repr__(self):
        body = np.array2string(self._data, separator=", ", prefix="")
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, value=\n{body}>"
