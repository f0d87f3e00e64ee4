"""Layers nested in a config (RNN's `cell`, Bidirectional's `layer`), in Keras's envelope:
`{"module", "class_name", "config", "registered_name"[, "build_config"]}` (format spec §2.1).

Private to the recurrent family until the saving package provides the general
`serialize_keras_object`; it handles layers only.
"""


def serialize_layer(layer):
    cls = type(layer)
    import layerkit.layers as lk_layers

    public = getattr(lk_layers, cls.__name__, None) is cls
    out = {
        "module": "keras.layers" if public else cls.__module__,
        "class_name": cls.__name__,
        "config": layer.get_config(),
        "registered_name": None if public else cls.__name__,
    }
    args, kwargs = layer.__dict__.get("_build_shapes") or ((), {})
    shapes = list(args) + [s for s in kwargs.values() if s is not None]
    if layer.built and len(shapes) == 1:
        out["build_config"] = {"input_shape": _as_lists(shapes[0])}
    return out


def _as_lists(shape):
    return [_as_lists(s) for s in shape] if isinstance(shape, (list, tuple)) else shape


def deserialize_layer(config, custom_objects=None, who="deserialize_layer"):
    """A layer from its serialized dict; a Layer instance is returned as it is."""
    from layerkit.layers.layer import Layer

    if isinstance(config, Layer):
        return config
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise ValueError(f"{who}: expected a layer or its serialized dict with 'class_name' and 'config', "
                         f"received {config!r}.")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name)
    if cls is None:
        import layerkit.layers as lk_layers

        cls = getattr(lk_layers, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise ValueError(f"{who}: unknown layer class {name!r}. If it is a custom layer, pass it in "
                         f"`custom_objects={{{name!r}: {name}}}`.")
    return cls.from_config(dict(config["config"]))


def serialize_args(layer, names):
    """{name: value} of the layer's arguments `names`, in that order (Keras's key order), each
    serialized by its kind: activations, initializers, regularizers and constraints by name
    suffix, plain values as they are."""
    from layerkit import activations, constraints, initializers, regularizers

    out = {}
    for name in names:
        value = getattr(layer, name)
        if name.endswith("activation"):
            value = activations.serialize(value)
        elif name.endswith("_initializer"):
            value = initializers.serialize(value)
        elif name.endswith("_regularizer"):
            value = regularizers.serialize(value)
        elif name.endswith("_constraint"):
            value = constraints.serialize(value)
        out[name] = value
    return out
