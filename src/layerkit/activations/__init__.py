"""`layerkit.activations`: Keras 3's activation functions, with the same names, signatures and
defaults (note `gelu(x, approximate=False)`, unlike `ops.gelu`), all written in `layerkit.ops`.

`get(identifier)` returns a function from a name (`"relu"`, `"swish"`, ...), a Keras
serialization dict or a callable (None gives `linear`); `serialize(fn)` returns a built-in's
name, as Keras does.
"""
import types

from layerkit.activations.activations import (
    celu, elu, exponential, gelu, glu, hard_shrink, hard_sigmoid, hard_silu, hard_swish, hard_tanh, leaky_relu,
    linear, log_sigmoid, log_softmax, mish, relu, relu6, selu, sigmoid, silu, soft_shrink, softmax, softplus,
    softsign, sparse_plus, sparse_sigmoid, sparsemax, squareplus, swish, tanh, tanh_shrink, threshold,
)
from layerkit.initializers._serialization import deserialize_object, lookup

ALL_OBJECTS = (
    relu, leaky_relu, relu6, softmax, celu, elu, selu, softplus, softsign, squareplus, soft_shrink, sparse_plus,
    silu, gelu, glu, tanh, tanh_shrink, threshold, sigmoid, sparse_sigmoid, exponential, hard_sigmoid, hard_silu,
    hard_tanh, hard_shrink, linear, mish, log_softmax, log_sigmoid, sparsemax,
)
ALL_OBJECTS_DICT = {fn.__name__: fn for fn in ALL_OBJECTS}
ALL_OBJECTS_DICT["swish"] = silu
ALL_OBJECTS_DICT["hard_swish"] = hard_silu

_KIND = "activation function"


def _is_builtin(fn):
    return ALL_OBJECTS_DICT.get(getattr(fn, "__name__", None)) is fn


def serialize(activation):
    """The serialized form of an activation.

    A built-in function gives its name (`serialize(swish)` is `"silu"`, the function's own name,
    as in Keras); another named function gives a Keras dict
    `{"module": "builtins", "class_name": "function", "config": name, "registered_name": "function"}`
    (deserialize it with `custom_objects={name: fn}`); an object with `get_config()` gives its
    class's Keras dict.

    Raises:
        ValueError: for a lambda or a callable without a name or a config.
    """
    if _is_builtin(activation):
        return activation.__name__
    if isinstance(activation, types.FunctionType):
        if activation.__name__ == "<lambda>":
            raise ValueError("activations.serialize: cannot serialize a lambda; define the activation as a named "
                             "function and deserialize it with `custom_objects={name: fn}`.")
        return {"module": "builtins", "class_name": "function", "config": activation.__name__,
                "registered_name": "function"}
    if hasattr(activation, "get_config"):
        cls = type(activation)
        return {"module": cls.__module__, "class_name": cls.__name__, "config": activation.get_config(),
                "registered_name": cls.__name__}
    raise ValueError(f"activations.serialize: cannot serialize {activation!r}: expected a built-in activation, a "
                     f"named function, or an object with `get_config()`.")


def deserialize(config, custom_objects=None):
    """An activation function from its name or its Keras serialization dict.

    Args:
        config: a name (`"relu"`), or a dict `{"class_name": "function", "config": "relu", ...}`,
            or the dict of an activation object (`{"class_name": ..., "config": {...}}`).
        custom_objects: optional dict of name -> function or class, searched before the built-ins.
    """
    if isinstance(config, str):
        return lookup(_KIND, ALL_OBJECTS_DICT, config, custom_objects)
    if isinstance(config, dict) and config.get("class_name") in ("function", "__function__"):
        name = config.get("config")
        if not isinstance(name, str):
            raise ValueError(f"activations.deserialize: a function config must name the function, received "
                             f"config={name!r}.")
        return lookup(_KIND, ALL_OBJECTS_DICT, name, custom_objects)
    return deserialize_object(_KIND, ALL_OBJECTS_DICT, config, custom_objects)


def get(identifier):
    """Retrieves an activation function.

    Args:
        identifier: a name (`"relu"`, `"swish"`, `"gelu"`, ...), a serialization dict, a callable
            (returned as is), or None (gives `linear`).

    Returns:
        A callable `f(x)`.

    Raises:
        ValueError: for an unknown name (the message lists the valid names) or an identifier
            that is not a name, a dict or a callable.

    Example:

    >>> import layerkit as lk
    >>> get("relu")(lk.ops.convert_to_tensor([-1.0, 2.0])).numpy().tolist()
    [0.0, 2.0]
    """
    if identifier is None:
        return linear
    if isinstance(identifier, (str, dict)):
        obj = deserialize(identifier)
    else:
        obj = identifier
    if callable(obj):
        return obj
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}. Expected a name, a "
                     f"config dict, a callable or None; received {type(identifier).__name__}.")


__all__ = sorted(ALL_OBJECTS_DICT) + ["get", "serialize", "deserialize", "ALL_OBJECTS", "ALL_OBJECTS_DICT"]
