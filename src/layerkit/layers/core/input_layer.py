"""InputLayer and Input(): the entry points of Functional models."""
from layerkit.backend import floatx, standardize_dtype
from layerkit.layers.layer import Layer
from layerkit.layers.node import Node
from layerkit.ops import SymbolicTensor


class InputLayer(Layer):
    """The layer behind `Input()`: it holds the symbolic tensor a Functional model starts from.

    Args:
        shape: the shape of one sample (no batch axis), e.g. `(28, 28, 1)`; None for unknown sizes.
        batch_size: a fixed batch size, or None.
        dtype: the input's dtype (floatx by default).
        batch_shape: the full shape including the batch axis (instead of shape and batch_size).
        name: a unique name.
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, input_tensor=None,
                 optional=False, name=None, **kwargs):
        # the legacy Keras 2 spellings
        if "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        kwargs.pop("ragged", None)
        super().__init__(name=name, **kwargs)
        if sparse:
            raise ValueError(f"InputLayer '{self.name}': sparse inputs are not supported.")
        if shape is not None and batch_shape is not None:
            raise ValueError(f"InputLayer '{self.name}': pass either `shape` or `batch_shape`, not both.")
        if batch_shape is None:
            if shape is None:
                if input_tensor is None:
                    raise ValueError(f"InputLayer '{self.name}': `shape` (the shape of one sample) is required.")
                batch_shape = input_tensor.shape
            else:
                shape = (shape,) if isinstance(shape, int) else tuple(shape)
                batch_shape = (batch_size,) + shape
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.dtype = standardize_dtype(dtype or floatx())
        self.optional = optional
        if input_tensor is None:
            input_tensor = SymbolicTensor(self.batch_shape, self.dtype, name=self.name)
        node = Node(self, (), {}, [input_tensor])
        self._inbound_nodes.append(node)
        input_tensor._keras_history = (self, 0, 0)
        self.output = input_tensor
        self.built = True

    def call(self):
        return self.output

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "sparse": False, "ragged": False,
                "name": self.name, "optional": self.optional}


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None, tensor=None,
          optional=False):
    """A symbolic tensor to build a Functional model from.

    Example:
    >>> import layerkit as lk
    >>> x = lk.layers.Input(shape=(4,))
    >>> x.shape
    (None, 4)
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, batch_shape=batch_shape,
                       input_tensor=tensor, optional=optional, name=name)
    return layer.output
