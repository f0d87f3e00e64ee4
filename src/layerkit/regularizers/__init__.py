"""`layerkit.regularizers`: Keras 3's weight penalties (`L1`, `L2`, `L1L2`,
`OrthogonalRegularizer`), with the same names, arguments, defaults and configs.

A regularizer is called with a weight and returns a scalar tensor computed with `layerkit.ops`,
so the penalty can be differentiated with a `GradientTape`.

`get(identifier)` resolves names (`"l1"`, `"l2"`, `"l1_l2"`, `"orthogonal_regularizer"`, and the
class names), Keras serialization dicts, classes and callables; `serialize`/`deserialize` use the
Keras dict format.
"""
from layerkit.initializers._serialization import deserialize_object, get_object, name_table, serialize_object
from layerkit.regularizers.regularizers import L1, L1L2, L2, OrthogonalRegularizer, Regularizer

ALL_OBJECTS = (Regularizer, L1, L2, L1L2, OrthogonalRegularizer)
# Keras's own table has "l1l2" (its snake_case of "L1L2"); "l1_l2" is the name Keras exports the
# class under (`keras.regularizers.l1_l2`), so both resolve.
ALL_OBJECTS_DICT = name_table(ALL_OBJECTS, {"l1l2": L1L2, "l1_l2": L1L2})

# Keras exports the classes under snake_case names too.
l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer

_KIND = "regularizer"


def serialize(regularizer):
    """The Keras serialization dict of `regularizer`.

    Example:

    >>> serialize(L2(0.1))
    {'module': 'keras.regularizers', 'class_name': 'L2', 'config': {'l2': 0.1}, 'registered_name': None}
    """
    return serialize_object(_KIND, "keras.regularizers", ALL_OBJECTS_DICT, regularizer)


def deserialize(config, custom_objects=None):
    """A regularizer from its Keras serialization dict (or a bare name).

    Args:
        config: a dict with `"class_name"` and `"config"`, or a name.
        custom_objects: optional dict of name -> class, searched before the built-ins.
    """
    return deserialize_object(_KIND, ALL_OBJECTS_DICT, config, custom_objects)


def get(identifier):
    """Retrieves a regularizer from an identifier.

    Args:
        identifier: a name (`"l1"`, `"L2"`, `"l1_l2"`, ...; instantiated with its defaults), a
            config dict, a `Regularizer` or any callable `f(weight) -> scalar` (returned as is),
            a regularizer class (instantiated), or None.

    Returns:
        A regularizer, or None when `identifier` is None.

    Raises:
        ValueError: for an unknown name (the message lists the valid names) or an identifier of
            another kind.
    """
    return get_object(_KIND, ALL_OBJECTS_DICT, identifier, deserialize)


__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "get", "serialize", "deserialize",
           "ALL_OBJECTS", "ALL_OBJECTS_DICT"]
