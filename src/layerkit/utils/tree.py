"""Nested structures of tensors: lists, tuples, dicts (flattened in sorted key order, as Keras's
tree utilities do) and leaves."""


def is_nested(x):
    return isinstance(x, (list, tuple, dict))


def flatten(x):
    """The leaves of `x` in order (None counts as a leaf)."""
    if isinstance(x, dict):
        return [leaf for k in sorted(x) for leaf in flatten(x[k])]
    if isinstance(x, (list, tuple)):
        return [leaf for item in x for leaf in flatten(item)]
    return [x]


def structure(x):
    """The nesting of `x`, hashable and comparable: container types and dict keys, None for each
    leaf (two structures with equal leaves count but other nesting differ)."""
    if isinstance(x, dict):
        return (type(x), tuple((k, structure(x[k])) for k in sorted(x)))
    if isinstance(x, (list, tuple)):
        return (type(x), tuple(structure(v) for v in x))
    return None


def map_structure(fn, x):
    """`x` with every leaf replaced by `fn(leaf)`, keeping containers (and namedtuples)."""
    if isinstance(x, dict):
        return type(x)((k, map_structure(fn, v)) for k, v in x.items())
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*[map_structure(fn, v) for v in x])
    if isinstance(x, (list, tuple)):
        return type(x)(map_structure(fn, v) for v in x)
    return fn(x)


def pack_sequence_as(structure, leaves):
    """Rebuilds `structure` with `leaves` (in `flatten` order)."""
    it = iter(leaves)

    def build(s):
        if isinstance(s, dict):
            vals = {k: build(s[k]) for k in sorted(s)}
            return type(s)((k, vals[k]) for k in s)
        if isinstance(s, tuple) and hasattr(s, "_fields"):
            return type(s)(*[build(v) for v in s])
        if isinstance(s, (list, tuple)):
            return type(s)(build(v) for v in s)
        return next(it)
    return build(structure)
