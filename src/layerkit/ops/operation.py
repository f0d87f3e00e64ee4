"""Operation: the parent of every op and of Layer.

An operation is a callable node of a graph. Eager tensors in, eager tensors out; symbolic
tensors in, symbolic tensors out — the same `call` serves both, because every primitive
underneath knows how to infer shapes without data.
"""
import re
import threading

_NAME_COUNTS = {}
_NAME_LOCK = threading.Lock()


def to_snake_case(name):
    """Keras's rule: "Conv2D" -> "conv2d", "BatchNormalization" -> "batch_normalization"."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(prefix):
    """`prefix`, then `prefix_1`, `prefix_2`… for the process lifetime, like Keras."""
    with _NAME_LOCK:
        n = _NAME_COUNTS.get(prefix, 0)
        _NAME_COUNTS[prefix] = n + 1
    return prefix if n == 0 else f"{prefix}_{n}"


class Operation:
    """Base class of ops and layers.

    Subclasses implement `call(*args, **kwargs)`. `compute_output_spec` runs `call` on symbolic
    tensors to get output shapes and dtypes without computing anything.
    """

    def __init__(self, name=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: `name` must be a string, received {name!r}.")
        self.name = name or unique_name(to_snake_case(type(self).__name__))

    def __call__(self, *args, **kwargs):
        return self.call(*args, **kwargs)

    def call(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement call().")

    def compute_output_spec(self, *args, **kwargs):
        """Output SymbolicTensor(s) for symbolic inputs: `call` itself, run on shapes only."""
        return self.call(*args, **kwargs)

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"
