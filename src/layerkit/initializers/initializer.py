"""The `Initializer` base class and the argument checks its subclasses share."""
import numpy as np

from layerkit.backend import FLOAT_DTYPES, standardize_dtype


class Initializer:
    """Initializer base class: all initializers inherit from this class.

    An initializer is called with a shape (and optionally a dtype) and returns a tensor of that
    shape and dtype. Subclasses implement `__call__(self, shape, dtype=None)`; they implement
    `get_config()` when their constructor takes arguments. The default `from_config()` passes the
    config's keys to the constructor.

    Example:

    ```python
    class ExampleRandomNormal(lk.initializers.Initializer):
        def __init__(self, mean, stddev):
            self.mean = mean
            self.stddev = stddev

        def __call__(self, shape, dtype=None):
            return lk.random.normal(shape, mean=self.mean, stddev=self.stddev, dtype=dtype)

        def get_config(self):
            return {"mean": self.mean, "stddev": self.stddev}
    ```
    """

    def __call__(self, shape, dtype=None):
        """Returns a tensor of shape `shape` and dtype `dtype` (floatx when None).

        Args:
            shape: the shape of the tensor, a tuple of ints.
            dtype: optional dtype of the tensor.
        """
        raise NotImplementedError(
            f"{type(self).__name__}: Initializer subclasses must implement `__call__(shape, dtype=None)`.")

    def get_config(self):
        """Returns the initializer's configuration as a JSON-serializable dict."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Instantiates an initializer from a configuration dict (the output of `get_config()`).

        Example:

        >>> from layerkit.initializers import RandomUniform
        >>> initializer = RandomUniform(-1, 1)
        >>> RandomUniform.from_config(initializer.get_config()).get_config() == initializer.get_config()
        True
        """
        return cls(**config)

    def clone(self):
        """A new initializer of the same class and configuration.

        An unseeded initializer's clone draws its own seed, so it gives different values (as in
        Keras).
        """
        return self.__class__.from_config(self.get_config())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def standardize_shape(owner, shape):
    """`shape` as a tuple of non-negative ints (an int is a 1-D shape)."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        dims = None
    if dims is None or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0
                               for d in dims):
        raise ValueError(f"{owner}: `shape` must be a tuple of non-negative ints, received shape={shape!r}.")
    return tuple(int(d) for d in dims)


def standardize_float_dtype(owner, dtype):
    """`dtype` as a float dtype string (floatx when None), for initializers that draw reals."""
    name = standardize_dtype(dtype)
    if name not in FLOAT_DTYPES:
        raise ValueError(f"{owner}: `dtype` must be a float dtype ({', '.join(FLOAT_DTYPES)}), "
                         f"received dtype={dtype!r}.")
    return name
