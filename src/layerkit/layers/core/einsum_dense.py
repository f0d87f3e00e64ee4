"""EinsumDense: a dense layer of any dimensionality, `activation(einsum(equation, x, kernel) + bias)`."""
import re

from layerkit import activations, constraints, initializers, ops, regularizers
from layerkit.initializers import VarianceScaling
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer

_FORMS = (
    # (pattern on the equation with "..." replaced by "0", where the ellipsis is)
    (re.compile(r"^([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$"), None),
    (re.compile(r"^0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)$"), "left"),
    (re.compile(r"^([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0$"), "right"),
)


def _split_equation(who, equation):
    """(input spec, kernel spec, output spec, where the ellipsis is: None, "left" or "right")."""
    if not isinstance(equation, str):
        raise ValueError(f"{who}: `equation` must be a string such as 'ab,bc->ac', received {equation!r}.")
    squeezed = equation.replace("...", "0")
    for pattern, elided in _FORMS:
        m = pattern.match(squeezed)
        if m:
            return m.group(1), m.group(2), m.group(3), elided
    raise ValueError(f"{who}: invalid einsum equation {equation!r}. Equations must be of the form "
                     "'[X],[Y]->[Z]', '...[X],[Y]->...[Z]' or '[X]...,[Y]->[Z]...' (letters only).")


def analyze_einsum(who, equation, bias_axes, input_shape, partial_output_shape):
    """Shapes an EinsumDense needs, as Keras computes them.

    Returns (kernel_shape, bias_shape or None, full_output_shape, kernel input axes, kernel
    output axes, explicit_equation) where `explicit_equation` names every axis (no ellipsis), for
    `ops.einsum`.
    """
    in_spec, w_spec, out_spec, elided_side = _split_equation(who, equation)
    input_shape = tuple(input_shape)
    elided = len(input_shape) - len(in_spec)
    least = len(in_spec) + (elided_side == "left")  # a leading ellipsis includes the batch axis
    if elided < least - len(in_spec) or (elided_side is None and elided != 0):
        raise ValueError(f"{who}: the equation {equation!r} expects an input of rank {least}"
                         f"{' or more' if elided_side else ''}, but received an input of shape {input_shape}.")
    output_shape = [input_shape[0]] + list(partial_output_shape)
    if elided_side == "left":
        # the ellipsis covers input axes 0..elided-1; axis 0 (the batch) is already first
        output_shape[1:1] = list(input_shape[1:elided])
        in_axis = {c: i + elided for i, c in enumerate(in_spec)}
        out_axis = {c: i + elided for i, c in enumerate(out_spec)}
    else:
        if elided_side == "right":
            output_shape += list(input_shape[len(in_spec):])
        in_axis = {c: i for i, c in enumerate(in_spec)}
        out_axis = {c: i for i, c in enumerate(out_spec)}
    if len(output_shape) != len(out_spec) + elided:
        want = len(out_spec) if elided_side == "left" else len(out_spec) - 1
        raise ValueError(f"{who}: `output_shape` {tuple(partial_output_shape)} must have {want} entries (the output "
                         f"axes of {equation!r} without the batch axis and the ellipsis), for an input of shape "
                         f"{input_shape}.")
    for c in in_spec:
        if c in out_axis:
            want, got = output_shape[out_axis[c]], input_shape[in_axis[c]]
            if want is not None and got is not None and want != got:
                raise ValueError(f"{who}: input shape and output shape do not match at shared axis {c!r}: the "
                                 f"input has {got} (shape {input_shape}), `output_shape` asks for {want}.")
            if want is None:
                output_shape[out_axis[c]] = got
    for c in out_spec:
        if c not in in_spec and c not in w_spec:
            raise ValueError(f"{who}: output axis {c!r} of {equation!r} appears neither in the input spec "
                             f"{in_spec!r} nor in the kernel spec {w_spec!r}.")
    kernel_shape, input_axes, output_axes = [], [], []
    for i, c in enumerate(w_spec):
        if c in out_axis:
            kernel_shape.append(output_shape[out_axis[c]])
            output_axes.append(i)
        elif c in in_axis:
            kernel_shape.append(input_shape[in_axis[c]])
            input_axes.append(i)
        else:
            raise ValueError(f"{who}: kernel axis {c!r} of {equation!r} matches neither the input spec "
                             f"{in_spec!r} nor the output spec {out_spec!r}; the kernel must be fully specified.")
    if any(d is None for d in kernel_shape):
        raise ValueError(f"{who}: the kernel shape {tuple(kernel_shape)} has unknown axes: give them in "
                         f"`output_shape` or use an input of known shape (received {input_shape}).")
    bias_shape = None
    if bias_axes is not None:
        for c in bias_axes:
            if c not in out_spec:
                raise ValueError(f"{who}: bias axis {c!r} is not an axis of the output spec {out_spec!r}.")
        first = min(out_spec.find(c) for c in bias_axes)
        offset = elided if elided_side == "left" else 0
        bias_shape = [output_shape[i + offset] if c in bias_axes else 1
                      for i, c in enumerate(out_spec) if i >= first]
        if elided_side != "left":
            bias_shape += [1] * elided
    # name the ellipsis axes with letters the equation does not use
    spare = [c for c in "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA" if c not in in_spec + w_spec + out_spec]
    dots = "".join(spare[:max(elided, 0)])
    if elided_side == "left":
        explicit = f"{dots}{in_spec},{w_spec}->{dots}{out_spec}"
    elif elided_side == "right":
        explicit = f"{in_spec}{dots},{w_spec}->{out_spec}{dots}"
    else:
        explicit = f"{in_spec},{w_spec}->{out_spec}"
    return kernel_shape, bias_shape, tuple(output_shape), input_axes, output_axes, explicit


class EinsumDense(Layer):
    """A dense layer written as an einsum: `activation(einsum(equation, inputs, kernel) + bias)`.

    Use it when the weight is not a plain matrix: projections to several heads at once
    (`"abc,cde->abde"`), a dense layer over a middle axis, or any linear map of arbitrary
    dimensionality. The equation has the form `"ab,bc->ac"`, `"...ab,bc->...ac"` or
    `"ab...,bc->ac..."`; the kernel's shape follows from the input shape and `output_shape`.

    Args:
        equation: the einsum equation, input first, kernel second.
        output_shape: the output shape without the batch axis and the ellipsis axes (an int for
            one axis); `None` entries are taken from the input.
        activation: activation function or its name (None: linear).
        bias_axes: the output axes (letters of the output spec) that get a bias; None: no bias.
        kernel_initializer, bias_initializer: initializers (or names) of the weights. A
            VarianceScaling kernel initializer (e.g. the default GlorotUniform) counts the
            kernel's input and output axes from the equation, as Keras 3.15 does.
        kernel_regularizer, bias_regularizer: regularizers of the weights, added to `losses`.
        activity_regularizer: regularizer of the output.
        kernel_constraint, bias_constraint: constraints applied after optimizer updates.

    Call arguments:
        inputs: a tensor of the rank the equation describes.

    Input shape: as in the equation's input spec. Output shape: the batch axis, then
    `output_shape` (with the ellipsis axes where the equation puts them).

    Example:
    >>> import layerkit as lk
    >>> layer = lk.layers.EinsumDense("abc,cde->abde", output_shape=(None, 2, 8), bias_axes="de")
    >>> layer(lk.ops.ones((4, 5, 3))).shape
    (4, 5, 2, 8)
    >>> [w.shape for w in layer.weights]
    [(3, 2, 8), (2, 8)]
    """

    def __init__(self, equation, output_shape, activation=None, bias_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, lora_alpha=None, gptq_unpacked_column_size=None,
                 quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        who = f"EinsumDense '{self.name}'"
        _, _, out_spec, _ = _split_equation(who, equation)
        if lora_rank:
            raise ValueError(f"{who}: LoRA (`lora_rank`) is not supported.")
        if quantization_config is not None or gptq_unpacked_column_size:
            raise ValueError(f"{who}: quantization is not supported (received quantization_config="
                             f"{quantization_config!r}).")
        if isinstance(output_shape, int) and not isinstance(output_shape, bool):
            output_shape = (output_shape,)
        if not isinstance(output_shape, (list, tuple)) or not all(
                d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0) for d in output_shape):
            raise ValueError(f"{who}: `output_shape` must be a positive int or a tuple of positive ints and None, "
                             f"received {output_shape!r}.")
        if bias_axes is not None and (not isinstance(bias_axes, str) or any(c not in out_spec for c in bias_axes)):
            raise ValueError(f"{who}: `bias_axes` must be a string of letters of the output spec {out_spec!r}, "
                             f"received {bias_axes!r}.")
        self.equation = equation
        self.partial_output_shape = tuple(output_shape)
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.lora_rank = None
        self.lora_alpha = None

    def _analyze(self, input_shape):
        return analyze_einsum(f"EinsumDense '{self.name}'", self.equation, self.bias_axes, input_shape,
                              self.partial_output_shape)

    def build(self, input_shape):
        kernel_shape, bias_shape, _, input_axes, output_axes, explicit = self._analyze(input_shape)
        self._explicit_equation = explicit
        self.input_spec = InputSpec(ndim=len(input_shape))
        init = self.kernel_initializer
        if isinstance(init, VarianceScaling) and (init.input_axes is None or init.output_axes is None):
            # the fans come from the equation's axes, not from the kernel's last two axes; a copy
            # with the same seed keeps the layer's config as the user wrote it (as Keras does)
            config = init.get_config()
            config.update(seed=init.seed, input_axes=input_axes, output_axes=output_axes)
            init = type(init).from_config(config)
        self.kernel = self.add_weight(name="kernel", shape=tuple(kernel_shape), initializer=init,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = None
        if bias_shape is not None:
            self.bias = self.add_weight(name="bias", shape=tuple(bias_shape), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def call(self, inputs, training=None):
        x = ops.einsum(self._explicit_equation, inputs, self.kernel)
        if self.bias is not None:
            x = ops.add(x, self.bias)
        if self.activation is not None:
            x = self.activation(x)
        return x

    def compute_output_shape(self, input_shape):
        return self._analyze(input_shape)[2]

    def get_config(self):
        config = super().get_config()
        config.update({
            "output_shape": self.partial_output_shape,
            "equation": self.equation,
            "activation": activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "quantization_config": None,
        })
        return config
