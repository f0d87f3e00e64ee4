"""InputSpec: what a layer accepts (rank, fixed axis sizes, dtype), checked on every call so a
wrong input is reported by the layer with both shapes, not by a kernel deep inside."""
from layerkit.utils import tree


class InputSpec:
    """Constraints on one input of a layer.

    Args:
        dtype: required dtype.
        shape: required shape (None entries match anything).
        ndim, min_ndim, max_ndim: required rank bounds.
        axes: {axis: size} fixed sizes, e.g. {-1: 4} for a Dense layer built for 4 features.
        allow_last_axis_squeeze: accept an input whose last axis of size 1 is missing.
        name, optional: for multi-input layers.
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None, axes=None,
                 allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = dtype
        self.shape = tuple(shape) if shape is not None else None
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.axes = dict(axes or {})
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        self.name = name
        self.optional = optional

    def get_config(self):
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim, "max_ndim": self.max_ndim,
                "min_ndim": self.min_ndim, "axes": self.axes}

    def __repr__(self):
        parts = [f"{k}={v}" for k, v in self.get_config().items() if v]
        return f"InputSpec({', '.join(parts)})"


def _shape_str(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def check_input_spec(layer, inputs):
    """Raises ValueError naming the layer when `inputs` do not satisfy `layer.input_spec`."""
    specs = layer.input_spec
    if specs is None:
        return
    specs = specs if isinstance(specs, (list, tuple)) else [specs]
    flat = tree.flatten(inputs)
    if len(specs) != len(flat) and not all(s.optional for s in specs[len(flat):]):
        raise ValueError(f"{type(layer).__name__} '{layer.name}' expects {len(specs)} input(s), "
                         f"but received {len(flat)}.")
    who = f"{type(layer).__name__} '{layer.name}'"
    why = " (it was built for it)" if layer.built else ""
    for i, (spec, x) in enumerate(zip(specs, flat)):
        if x is None or not hasattr(x, "shape"):
            continue
        shape = tuple(x.shape)
        nd = len(shape)
        which = f"input {i}" if len(specs) > 1 else "input"
        if spec.ndim is not None and nd != spec.ndim and not (
                spec.allow_last_axis_squeeze and nd == spec.ndim - 1):
            raise ValueError(f"{who} expects an {which} of rank {spec.ndim}, but received an input of shape "
                             f"{_shape_str(shape)} (rank {nd}).")
        if spec.min_ndim is not None and nd < spec.min_ndim:
            raise ValueError(f"{who} expects an {which} of rank >= {spec.min_ndim}, but received an input of shape "
                             f"{_shape_str(shape)} (rank {nd}).")
        if spec.max_ndim is not None and nd > spec.max_ndim:
            raise ValueError(f"{who} expects an {which} of rank <= {spec.max_ndim}, but received an input of shape "
                             f"{_shape_str(shape)} (rank {nd}).")
        if spec.dtype is not None and getattr(x, "dtype", None) != spec.dtype:
            raise ValueError(f"{who} expects an {which} of dtype {spec.dtype}, but received dtype {x.dtype}.")
        for axis, size in spec.axes.items():
            if size is None or not -nd <= axis < nd:
                continue
            if shape[axis] is not None and shape[axis] != size:
                where = "the last input axis" if axis == -1 else f"axis {axis} of its {which}"
                raise ValueError(f"{who} expects {where} to be {size}{why}, but received an input of shape "
                                 f"{_shape_str(shape)}.")
        if spec.shape is not None:
            for a, (want, got) in enumerate(zip(spec.shape, shape)):
                if want is not None and got is not None and want != got:
                    raise ValueError(f"{who} expects an {which} of shape {_shape_str(spec.shape)}, but received an "
                                     f"input of shape {_shape_str(shape)} (axis {a} differs).")
