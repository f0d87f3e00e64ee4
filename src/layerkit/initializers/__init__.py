"""`layerkit.initializers`: Keras 3's initializers, with the same class names, arguments,
defaults, `get_config()` keys and seed semantics.

- constant: `Zeros`, `Ones`, `Constant`, `Identity`;
- random: `RandomNormal`, `RandomUniform`, `TruncatedNormal`, `Orthogonal`, `VarianceScaling`
  and its named forms `GlorotUniform`, `GlorotNormal`, `HeUniform`, `HeNormal`, `LecunUniform`,
  `LecunNormal`.

Seeds (as in Keras 3): an int seed gives the same values on every call; `seed=None` draws an int
seed once, at construction, so an unseeded instance also repeats its values, while each new
instance differs; a `layerkit.random.SeedGenerator` gives new values on every call.

`get(identifier)` resolves names (`"glorot_uniform"`, `"GlorotUniform"`, aliases such as
`"uniform"`, `"normal"`, `"zero"`, `"one"`), Keras serialization dicts, classes, callables and
tensors; `serialize`/`deserialize` use the Keras dict format, so configs move between the two.
"""
import numpy as np

from layerkit.backend import standardize_dtype
from layerkit.initializers._serialization import deserialize_object, get_object, name_table, serialize_object
from layerkit.initializers.constant_initializers import Constant, Identity, Ones, Zeros
from layerkit.initializers.initializer import Initializer
from layerkit.initializers.random_initializers import (
    Orthogonal, RandomInitializer, RandomNormal, RandomUniform, TruncatedNormal,
)
from layerkit.initializers.variance_scaling import (
    GlorotNormal, GlorotUniform, HeNormal, HeUniform, LecunNormal, LecunUniform, VarianceScaling, compute_fans,
)
from layerkit.ops import core as _C
from layerkit.ops.tensor import Tensor

ALL_OBJECTS = (
    Initializer, Constant, Identity, Ones, Zeros, GlorotNormal, GlorotUniform, HeNormal, HeUniform, LecunNormal,
    LecunUniform, Orthogonal, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
)
ALL_OBJECTS_DICT = name_table(ALL_OBJECTS, {
    "IdentityInitializer": Identity,
    "OrthogonalInitializer": Orthogonal,
    "normal": RandomNormal,
    "uniform": RandomUniform,
    "one": Ones,
    "zero": Zeros,
})

# Keras also exports every class under its snake_case name (`keras.initializers.glorot_uniform`).
zeros, ones, constant, identity = Zeros, Ones, Constant, Identity
random_normal, random_uniform, truncated_normal, orthogonal = RandomNormal, RandomUniform, TruncatedNormal, Orthogonal
variance_scaling, glorot_uniform, glorot_normal = VarianceScaling, GlorotUniform, GlorotNormal
he_uniform, he_normal, lecun_uniform, lecun_normal = HeUniform, HeNormal, LecunUniform, LecunNormal

_KIND = "initializer"


def serialize(initializer):
    """The Keras serialization dict of `initializer`.

    Example:

    >>> serialize(GlorotUniform(seed=1))
    {'module': 'keras.initializers', 'class_name': 'GlorotUniform',
     'config': {'seed': 1, 'input_axes': None, 'output_axes': None}, 'registered_name': None}
    """
    return serialize_object(_KIND, "keras.initializers", ALL_OBJECTS_DICT, initializer)


def deserialize(config, custom_objects=None):
    """An initializer from its Keras serialization dict (or a bare name).

    Args:
        config: a dict with `"class_name"` and `"config"` (`"module"` and `"registered_name"` are
            accepted and ignored for built-in classes), or a name.
        custom_objects: optional dict of name -> class, searched before the built-ins.
    """
    return deserialize_object(_KIND, ALL_OBJECTS_DICT, config, custom_objects)


def _tensor_initializer(value):
    value = np.asarray(value)

    def initialize_fn(shape, dtype=None):
        if tuple(shape) != value.shape:
            raise ValueError(f"initializers.get: expected `shape`={value.shape} for a tensor used as an "
                             f"initializer, received shape={tuple(shape)}.")
        return _C.convert_to_tensor(np.array(value, dtype=standardize_dtype(dtype)))

    return initialize_fn


def get(identifier):
    """Retrieves an initializer from an identifier.

    Args:
        identifier: a name (`"glorot_uniform"`, `"GlorotUniform"`, `"zeros"`, ...), a config dict,
            an `Initializer` (returned as is), an initializer class (instantiated with its
            defaults), a callable `f(shape, dtype=None)` (returned as is), a tensor or NumPy array
            (an initializer returning that value; it must be called with its shape), or None.

    Returns:
        An initializer, or None when `identifier` is None.

    Raises:
        ValueError: for an unknown name (the message lists the valid names) or an identifier of
            another kind.

    Example:

    >>> get("he_normal")
    HeNormal(seed=None, input_axes=None, output_axes=None)
    >>> get({"class_name": "Constant", "config": {"value": 3.0}})(shape=(2,)).numpy().tolist()
    [3.0, 3.0]
    """
    if isinstance(identifier, (Tensor, np.ndarray, np.generic)):
        return _tensor_initializer(identifier)
    return get_object(_KIND, ALL_OBJECTS_DICT, identifier, deserialize)


__all__ = [
    "Initializer", "Constant", "Identity", "Ones", "Zeros", "RandomInitializer", "RandomNormal", "RandomUniform",
    "TruncatedNormal", "Orthogonal", "VarianceScaling", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform",
    "LecunNormal", "LecunUniform", "compute_fans", "get", "serialize", "deserialize", "ALL_OBJECTS",
    "ALL_OBJECTS_DICT",
]
