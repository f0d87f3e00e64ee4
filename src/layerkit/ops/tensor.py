"""Tensor (eager, holds data) and SymbolicTensor (shape and dtype only, for Functional models
and tracing). Python operators on both dispatch to `layerkit.ops` (installed by ops/__init__)."""
import numpy as np

from layerkit.backend import SUPPORTED_DTYPES, standardize_dtype

# numpy's `dtype.name` is computed in Python on every access (~1.5 µs); a dict lookup is ~0.04 µs
# and dtype names are read on every op dispatch.
_DTYPE_NAMES = {np.dtype(name): name for name in SUPPORTED_DTYPES}


class Tensor:
    """An immutable n-d array over a C-contiguous buffer that numpy views without copying.

    `np.asarray(t)` shares memory; `t.numpy()` returns that view too, read-only, so a tensor can
    never be changed behind the back of a tape that recorded it.
    """

    __slots__ = ("_data", "_keras_mask", "__weakref__")
    __array_priority__ = 100  # numpy defers to our operators: `array + tensor` gives a Tensor

    def __init__(self, data):
        self._data = data

    @property
    def shape(self):
        return self._data.shape

    @property
    def dtype(self):
        return _DTYPE_NAMES[self._data.dtype]

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def size(self):
        return self._data.size

    def numpy(self):
        view = self._data.view()
        view.flags.writeable = False
        return view

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype) != self._data.dtype:
            if copy is False:
                raise ValueError("Converting the tensor to another dtype requires a copy.")
            return self._data.astype(dtype)
        return self._data.copy() if copy else self.numpy()

    def __dlpack__(self, *args, **kwargs):
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self):
        if self._data.size != 1:
            raise ValueError(f"The truth value of a tensor of shape {self.shape} is ambiguous; use ops.any/ops.all.")
        return bool(self._data)

    def __float__(self):
        return float(self._data)

    def __int__(self):
        return int(self._data)

    def __index__(self):
        return self._data.__index__()

    def __hash__(self):
        return id(self)

    def __repr__(self):
        body = np.array2string(self._data, separator=", ", prefix="")
        return f"<Tensor shape={self.shape}, dtype={self.dtype}, numpy=\n{body}>"

    def __format__(self, spec):
        return format(self._data, spec) if self._data.ndim == 0 else repr(self)


class SymbolicTensor:
    """A tensor with a shape (None for unknown dimensions) and a dtype but no data.

    Ops applied to it check shapes and return new symbolic tensors; `op`, `inputs` and `attrs`
    record how it was made, which is what Functional models and the graph tracer read.
    """

    # _keras_history: (layer, node_index, tensor_index) of the layer call that made it, for
    # Functional models; _keras_mask: the mask a layer attached (both unset until assigned).
    __slots__ = ("shape", "dtype", "op", "inputs", "attrs", "name", "_keras_history", "_keras_mask", "__weakref__")
    __array_priority__ = 100

    def __init__(self, shape, dtype="float32", op=None, inputs=(), attrs=None, name=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = standardize_dtype(dtype)
        self.op = op
        self.inputs = tuple(inputs)
        self.attrs = attrs or {}
        self.name = name

    @property
    def ndim(self):
        return len(self.shape)

    def __hash__(self):
        return id(self)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d symbolic tensor")
        if self.shape[0] is None:
            raise TypeError(f"len() of a symbolic tensor of shape {self.shape}: its first dimension is unknown until "
                            "the function runs (use ops.shape(x)[0] in ops, or trace with a fixed size).")
        return self.shape[0]

    def __iter__(self):
        # without this, Python would iterate through __getitem__ until an IndexError, which an
        # unknown first dimension never raises
        if not self.shape:
            raise TypeError("iteration over a 0-d symbolic tensor")
        if self.shape[0] is None:
            raise TypeError(f"iteration over a symbolic tensor of shape {self.shape}: its first dimension is unknown "
                            "until the function runs; use ops.scan or ops.fori_loop to loop over it, or trace with "
                            "a fixed size (an input_signature without None there).")
        return (self[i] for i in range(self.shape[0]))

    def numpy(self):
        raise TypeError(f"A symbolic tensor (shape={self.shape}, dtype={self.dtype}) has no value to read: inside a "
                        "traced function (lk.function), return it and read the result, or compute with ops.")

    def __format__(self, spec):
        if spec:
            raise TypeError(f"A symbolic tensor has no value to format with '{spec}' (inside a traced function, "
                            "print it after the call, or use lk.debugging).")
        return repr(self)

    def __bool__(self):
        raise TypeError("A symbolic tensor has no value: it cannot be used as a Python bool "
                        "(use ops.cond / ops.where for data-dependent choices).")

    def __float__(self):
        raise TypeError("A symbolic tensor has no value: it cannot be converted to a Python float (in a traced "
                        "function, keep computing with ops and return the tensor to read its value).")

    def __int__(self):
        raise TypeError("A symbolic tensor has no value: it cannot be converted to a Python int (in a traced "
                        "function, keep computing with ops; for a loop over data use ops.while_loop).")

    def __array__(self, *args, **kwargs):
        raise TypeError(f"A symbolic tensor (shape={self.shape}, dtype={self.dtype}) has no data to convert to "
                        "numpy; it only describes the tensor that will flow here.")

    def __repr__(self):
        made_by = f", made by '{self.op.name}'" if self.op is not None else ""
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}{made_by}>"


KerasTensor = SymbolicTensor


def is_tensor(x):
    return isinstance(x, (Tensor, SymbolicTensor))


def is_symbolic(x):
    return isinstance(x, SymbolicTensor)
