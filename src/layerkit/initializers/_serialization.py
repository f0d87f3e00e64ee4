"""Name tables, `serialize`, `deserialize` and `get`, shared by initializers, regularizers,
constraints and activations.

Configs use the Keras 3 serialization dict, so configs move between Keras and layerkit:

    {"module": "keras.initializers", "class_name": "GlorotUniform",
     "config": {"seed": 1, ...}, "registered_name": None}

Deserialization is lenient: `module` and `registered_name` may be missing or anything, `config`
may be missing (the constructor's defaults are used), and the class may be named in CamelCase or
snake_case.
"""
import inspect
import re


def to_snake_case(name):
    """`"GlorotUniform"` -> `"glorot_uniform"`, as Keras's `naming.to_snake_case`."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def name_table(classes, aliases=None):
    """{CamelCase name: cls, snake_case name: cls, **aliases} for `classes`."""
    table = {}
    for cls in classes:
        table[cls.__name__] = cls
        table[to_snake_case(cls.__name__)] = cls
    table.update(aliases or {})
    return table


def lookup(kind, table, name, custom_objects=None):
    """The object registered under `name` (exact, then snake_case), or a ValueError that lists
    every valid name."""
    for source in (custom_objects or {}, table):
        for key in (name, to_snake_case(name)):
            if key in source:
                return source[key]
    raise ValueError(f"Unknown {kind} {name!r}. Expected one of: {', '.join(sorted(table))}.")


def serialize_object(kind, module, table, obj):
    """The Keras serialization dict of `obj` (an instance with `get_config()`).

    Built-in classes get `module` (e.g. `"keras.initializers"`) and `registered_name` None, as in
    Keras; other classes their own Python module and their class name as `registered_name`.
    """
    if obj is None:
        return None
    if not hasattr(obj, "get_config"):
        raise TypeError(f"{kind}: cannot serialize {obj!r} of type {type(obj).__name__}: expected an "
                        f"object with a `get_config()` method.")
    cls = type(obj)
    builtin = table.get(cls.__name__) is cls
    return {
        "module": module if builtin else cls.__module__,
        "class_name": cls.__name__,
        "config": obj.get_config(),
        "registered_name": None if builtin else cls.__name__,
    }


def deserialize_object(kind, table, config, custom_objects=None):
    """An instance from a Keras serialization dict, a bare name, or a `{"class_name", "config"}`
    dict (the Keras 2 form)."""
    if isinstance(config, str):
        cls = lookup(kind, table, config, custom_objects)
        return cls() if inspect.isclass(cls) else cls
    if not isinstance(config, dict):
        raise TypeError(f"{kind}: cannot deserialize {config!r}: expected a name or a dict with keys "
                        f"'class_name' and 'config', received {type(config).__name__}.")
    if "class_name" not in config:
        raise ValueError(f"{kind}: the config dict must have a 'class_name' key, received keys "
                         f"{sorted(config)}.")
    name = config.get("registered_name") or config["class_name"]
    if custom_objects and name in custom_objects:
        cls = custom_objects[name]
    else:
        cls = lookup(kind, table, config["class_name"], custom_objects)
    inner = config.get("config") or {}
    if not isinstance(inner, dict):
        raise TypeError(f"{kind} {config['class_name']!r}: 'config' must be a dict of constructor "
                        f"arguments, received {type(inner).__name__}.")
    if not inspect.isclass(cls):
        return cls
    if hasattr(cls, "from_config"):
        return cls.from_config(dict(inner))
    return cls(**inner)


def get_object(kind, table, identifier, deserialize):
    """Keras's `get`: None -> None; a dict -> `deserialize`; a name -> the class, instantiated
    with its defaults; a class -> an instance; any other callable passes through."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = lookup(kind, table, identifier)
    else:
        obj = identifier
    if inspect.isclass(obj):
        obj = obj()
    if callable(obj):
        return obj
    raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}. Expected a name, a config "
                     f"dict, a {kind} instance, a callable, or None; received {type(identifier).__name__}.")
