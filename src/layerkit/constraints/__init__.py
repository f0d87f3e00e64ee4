"""`layerkit.constraints`: Keras 3's weight constraints (`MaxNorm`, `NonNeg`, `UnitNorm`,
`MinMaxNorm`), with the same names, arguments, defaults, formulas and configs.

A constraint is called with a weight and returns the projected weight, computed with
`layerkit.ops`. `get(identifier)` resolves names (`"max_norm"`, `"non_neg"`, `"unit_norm"`,
`"min_max_norm"`, and the class names), Keras serialization dicts, classes and callables;
`serialize`/`deserialize` use the Keras dict format.
"""
from layerkit.constraints.constraints import Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm
from layerkit.initializers._serialization import deserialize_object, get_object, name_table, serialize_object

ALL_OBJECTS = (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)
ALL_OBJECTS_DICT = name_table(ALL_OBJECTS)

# Keras exports the classes under snake_case names too.
max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm

_KIND = "constraint"


def serialize(constraint):
    """The Keras serialization dict of `constraint`.

    Example:

    >>> serialize(MaxNorm(3))
    {'module': 'keras.constraints', 'class_name': 'MaxNorm', 'config': {'max_value': 3, 'axis': 0},
     'registered_name': None}
    """
    return serialize_object(_KIND, "keras.constraints", ALL_OBJECTS_DICT, constraint)


def deserialize(config, custom_objects=None):
    """A constraint from its Keras serialization dict (or a bare name).

    Args:
        config: a dict with `"class_name"` and `"config"`, or a name.
        custom_objects: optional dict of name -> class, searched before the built-ins.
    """
    return deserialize_object(_KIND, ALL_OBJECTS_DICT, config, custom_objects)


def get(identifier):
    """Retrieves a constraint from an identifier.

    Args:
        identifier: a name (`"max_norm"`, `"NonNeg"`, ...; instantiated with its defaults), a
            config dict, a `Constraint` or any callable `f(weight) -> weight` (returned as is), a
            constraint class (instantiated), or None.

    Returns:
        A constraint, or None when `identifier` is None.

    Raises:
        ValueError: for an unknown name (the message lists the valid names) or an identifier of
            another kind.
    """
    return get_object(_KIND, ALL_OBJECTS_DICT, identifier, deserialize)


__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "get", "serialize", "deserialize",
           "ALL_OBJECTS", "ALL_OBJECTS_DICT"]
