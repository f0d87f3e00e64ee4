"""Deterministic initializers: `Zeros`, `Ones`, `Constant` and `Identity`."""
import numpy as np

from layerkit.backend import standardize_dtype
from layerkit.initializers.initializer import Initializer, standardize_shape
from layerkit.ops import core as C
from layerkit.ops.tensor import Tensor


class Zeros(Initializer):
    """Initializer that generates tensors initialized to 0.

    Example:

    >>> initializer = Zeros()
    >>> values = initializer(shape=(2, 2))
    """

    def __call__(self, shape, dtype=None):
        """Returns a tensor of zeros.

        Args:
            shape: shape of the tensor.
            dtype: any supported dtype (numeric or bool); floatx when None.
        """
        return C.zeros(standardize_shape("Zeros", shape), dtype=standardize_dtype(dtype))


class Ones(Initializer):
    """Initializer that generates tensors initialized to 1.

    Example:

    >>> initializer = Ones()
    >>> values = initializer(shape=(2, 2))
    """

    def __call__(self, shape, dtype=None):
        """Returns a tensor of ones.

        Args:
            shape: shape of the tensor.
            dtype: any supported dtype (numeric or bool); floatx when None.
        """
        return C.ones(standardize_shape("Ones", shape), dtype=standardize_dtype(dtype))


def _value_from_config(value):
    # Keras serializes numpy values as {"class_name": "__numpy__", "config": {"value": [...]}}.
    if isinstance(value, dict) and isinstance(value.get("config"), dict) and "value" in value["config"]:
        return value["config"]["value"]
    return value


class Constant(Initializer):
    """Initializer that generates tensors with constant values.

    The value must be convertible to the dtype requested when calling the initializer. Keras
    allows only scalars; layerkit also accepts an array that broadcasts to the requested shape.

    Example:

    >>> initializer = Constant(10.0)
    >>> values = initializer(shape=(2, 2))

    Args:
        value: a Python scalar (or an array broadcastable to the shapes it is called with).
    """

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        shape = standardize_shape("Constant", shape)
        dtype = standardize_dtype(dtype)
        value = np.asarray(self.value, dtype=dtype)
        try:
            data = np.array(np.broadcast_to(value, shape), dtype=dtype)
        except ValueError:
            raise ValueError(f"Constant: `value` of shape {value.shape} cannot be broadcast to the requested "
                             f"shape {shape}.") from None
        return Tensor(data)

    def get_config(self):
        value = self.value
        if isinstance(value, Tensor):
            value = np.asarray(value)
        if isinstance(value, np.ndarray):
            value = value.tolist()
        elif isinstance(value, np.generic):
            value = value.item()
        return {"value": value}

    @classmethod
    def from_config(cls, config):
        return cls(_value_from_config(config.get("value", 0.0)))


class Identity(Initializer):
    """Initializer that generates the identity matrix (times `gain`).

    Only usable for 2-D shapes; a non-square shape gives ones on the main diagonal.

    Example:

    >>> initializer = Identity()
    >>> values = initializer(shape=(2, 2))

    Args:
        gain: multiplicative factor applied to the identity matrix.
    """

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = standardize_shape("Identity", shape)
        if len(shape) != 2:
            raise ValueError(f"Identity: the identity initializer can only be used for 2-D shapes, "
                             f"received shape={shape} of rank {len(shape)}.")
        dtype = standardize_dtype(dtype)
        return Tensor((self.gain * np.eye(*shape)).astype(dtype))

    def get_config(self):
        return {"gain": self.gain}
