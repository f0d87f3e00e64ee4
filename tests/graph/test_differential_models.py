"""Differential tests of graph mode at the level of models and training steps: random small
Keras-style models drawn from the layers of lk.layers (dense, convolutional, pooling, normalization,
reshaping, recurrent and attention layers; Sequential, Functional with two-branch merges, shared
layers, nested models, two inputs or two outputs, and the same graphs as subclassed models) are
trained with a hand-written SGD-with-momentum step (a GradientTape over a mean squared error or a
sparse cross-entropy, plus the models' regularization losses; the velocity and weight updates
written with assign ops), run eagerly and through lk.function on copies of the model with the same
initial weights. After each step the loss, the model outputs, the gradients, every weight
(trainable and non-trainable: BatchNormalization's moving statistics) and every velocity must
agree. Two steps on batches of one size come first; then the compiled step gets batches of other
sizes (larger or smaller, then a batch of 1) through an input_signature with a None batch, through
reduce_retracing=True, or by tracing again; its inputs come as C-ordered, Fortran-ordered and
strided arrays and as tensors. Finally a compiled inference pass (training=False) on the trained
model is compared with eager, and the first step's results are read again. Fully convolutional
models are also traced with unknown lengths / heights / widths, each step with its own sizes.

Each model is generated as Python source (a `build()` and a `make_step(model)`), so a failure
prints a script that reproduces it. As in test_differential.py, each case also runs eagerly in the
other float dtype to measure how well conditioned each result is: where float32 and float64
disagree by d, a compiled result is allowed a few times d more slack in float32 (d * eps64 /
eps32 in float64) on top of rtol = atol = 1e-5 (float32) / 1e-10 (float64).

Layers that draw random numbers (Dropout with a rate > 0, GaussianNoise, GaussianDropout,
SpatialDropout, recurrent dropout) make a model whose step calls it with training=False, since
eager and compiled draws differ; the others train with training=True.
"""
import math
import re

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from differential_check import compare

import layerkit as lk
from layerkit import layers, ops

SETTINGS = dict(derandomize=True, deadline=None, database=None, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
MAX_ELEMS = 160  # elements per sample of any generated activation
ACTS = [None, None, "relu", "tanh", "sigmoid", "gelu", "elu", "softplus", "swish", "selu", "softmax",
        "leaky_relu", "relu6", "mish", "log_softmax", "softsign", "hard_sigmoid", "linear"]
SMOOTH_ACTS = [None, "tanh", "sigmoid", "swish", "softplus", "gelu"]
MERGES_SAME = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"]


def _prod(shape):
    return math.prod(shape)


def _conv_len(n, k, s, padding, d):
    if padding in ("same", "causal"):
        return -(-n // s)
    eff = d * (k - 1) + 1
    return (n - eff) // s + 1 if n >= eff else 0


def _pool_len(n, p, s, padding):
    if padding == "same":
        return -(-n // s)
    return (n - p) // s + 1 if n >= p else 0


def _tconv_len(n, k, s, padding):
    if padding == "same":
        return n * s
    return (n - 1) * s + max(k, s)


# kinds of layer every rank's step draws through one method of Gen: kind -> method name
_SHARED_KINDS = {"bn": "bn", "ln": "ln", "dropout": "dropout", "act_layer": "act_layer", "noise": "noise",
                 "branch": "branch", "sub": "submodel"}


class Gen:
    """Draws a model layer by layer, keeping the current tensor's per-sample shape."""

    def __init__(self, draw, max_elems=MAX_ELEMS):
        self.draw, self.max_elems = draw, max_elems
        self.lines = []  # (targets, layer expression, arguments or None for a layer defined for sharing)
        self.chain = []  # the layer expressions, while the model is a plain chain (Sequential)
        self.is_chain = True
        self.n = 0
        self.cur = None  # (name, shape)
        self.random = False  # a layer that draws random numbers in training mode
        self.masked = False  # a mask upstream (Embedding(mask_zero=True), Masking) not consumed yet
        self.taps = []  # earlier values usable as an extra output

    # ---- helpers ------------------------------------------------------------------------------
    def d(self, strategy):
        return self.draw(strategy)

    def pick(self, options):
        return self.draw(st.sampled_from(options))

    def new(self, expr, shape, inputs=None):
        """h{n} = expr(inputs or the current value); it becomes the current value."""
        name = f"h{self.n}"
        self.n += 1
        if inputs is None:
            args = self.cur[0]
            if self.is_chain:
                self.chain.append(expr)
        else:
            args = inputs
            self.is_chain = False
        self.lines.append((name, expr, args))
        self.cur = (name, tuple(shape))
        return self.cur

    def fits(self, shape):
        return all(s >= 1 for s in shape) and _prod(shape) <= self.max_elems

    def shared(self, kind):
        return getattr(self, _SHARED_KINDS[kind])()

    # ---- steps by rank ------------------------------------------------------------------------
    def step(self):
        rank = len(self.cur[1])
        if self.masked:
            return self.masked_step()
        return {1: self.vec_step, 2: self.seq_step, 3: self.img_step}[rank]()

    def vec_step(self):
        (f,) = self.cur[1]
        kind = self.pick(["dense"] * 4 + ["bn", "bn", "ln", "act", "dropout", "to_seq", "to_img", "einsum",
                                          "repeat", "act_layer", "reg", "noise", "branch", "branch", "sub"])
        if kind == "dense":
            u = self.d(st.integers(1, 8))
            reg = self.pick(["", "", "", ", kernel_regularizer='l2'", ", bias_regularizer='l1'"])
            bias = self.pick(["", "", ", use_bias=False"])
            return self.new(f"layers.Dense({u}, activation={self.pick(ACTS)!r}{bias}{reg}, dtype=DT)", (u,))
        if kind in _SHARED_KINDS:  # the layers every rank draws the same way
            return self.shared(kind)
        if kind == "act":
            return self.new(f"layers.Activation({self.pick(ACTS[2:])!r}, dtype=DT)", (f,))
        if kind == "to_seq" and f >= 2:
            divs = [k for k in range(1, f + 1) if f % k == 0]
            t = self.pick(divs)
            return self.new(f"layers.Reshape(({t}, {f // t}), dtype=DT)", (t, f // t))
        if kind == "to_img":
            if f >= 4:
                divs = [k for k in range(2, f + 1) if f % k == 0 and f // k >= 2]
                if divs:
                    h = self.pick(divs)
                    return self.new(f"layers.Reshape(({h}, {f // h}, 1), dtype=DT)", (h, f // h, 1))
            u = self.pick([4, 6, 9])
            self.new(f"layers.Dense({u * 2}, dtype=DT)", (u * 2,))
            h = self.pick([k for k in (2, 3) if u * 2 % k == 0])
            return self.new(f"layers.Reshape(({h}, {u * 2 // h}, 1), dtype=DT)", (h, u * 2 // h, 1))
        if kind == "einsum":
            u = self.d(st.integers(1, 6))
            bias = self.pick([None, "d"])
            return self.new(f"layers.EinsumDense('ab,bd->ad', output_shape={u}, bias_axes={bias!r}, "
                            f"activation={self.pick(SMOOTH_ACTS)!r}, dtype=DT)", (u,))
        if kind == "repeat" and self.fits((4, f)):
            n = self.d(st.integers(1, 4))
            return self.new(f"layers.RepeatVector({n}, dtype=DT)", (n, f))
        if kind == "reg":
            return self.new(f"layers.ActivityRegularization(l1={self.pick([0.0, 0.01])}, l2=0.01, dtype=DT)", (f,))
        return self.new(f"layers.Dense({f}, dtype=DT)", (f,))

    def seq_step(self):
        t, c = self.cur[1]
        kind = self.pick(["conv", "conv", "conv", "tconv", "sepconv", "dwconv", "pool", "gpool", "pad", "crop",
                          "upsample", "bn", "ln", "dense", "rnn", "rnn", "rnn", "mha", "attention", "permute",
                          "flatten", "to_img", "einsum", "noise", "act_layer", "branch", "branch", "branch", "sub",
                          "rnn_state"])
        if kind in ("conv", "sepconv", "dwconv"):
            k = self.d(st.integers(1, 3))
            s, dil = 1, 1
            pad = self.pick(["valid", "same", "causal"] if kind == "conv" else ["valid", "same"])
            if self.d(st.booleans()):
                if self.d(st.booleans()):
                    s = 2
                else:
                    dil = 2
            n = _conv_len(t, k, s, pad, dil)
            act = self.pick(ACTS)
            if kind == "conv":
                filt = self.d(st.integers(1, 6))
                groups = ""
                if c % 2 == 0 and filt % 2 == 0 and self.d(st.integers(0, 3)) == 0:
                    groups = ", groups=2"
                layer = (f"layers.Conv1D({filt}, {k}, strides={s}, padding={pad!r}, dilation_rate={dil}{groups}, "
                         f"activation={act!r}, dtype=DT)")
            elif kind == "sepconv":
                filt = self.d(st.integers(1, 5))
                layer = (f"layers.SeparableConv1D({filt}, {k}, strides={s}, padding={pad!r}, dilation_rate={dil}, "
                         f"depth_multiplier={self.d(st.integers(1, 2))}, activation={act!r}, dtype=DT)")
            else:
                m = self.d(st.integers(1, 2))
                filt = c * m
                layer = (f"layers.DepthwiseConv1D({k}, strides={s}, padding={pad!r}, dilation_rate={dil}, "
                         f"depth_multiplier={m}, activation={act!r}, dtype=DT)")
            if self.fits((n, filt)):
                return self.new(layer, (n, filt))
        if kind == "tconv":
            k, s = self.d(st.integers(1, 3)), self.d(st.integers(1, 2))
            pad = self.pick(["valid", "same"])
            filt = self.d(st.integers(1, 4))
            n = _tconv_len(t, k, s, pad)
            if self.fits((n, filt)):
                return self.new(f"layers.Conv1DTranspose({filt}, {k}, strides={s}, padding={pad!r}, "
                                f"activation={self.pick(ACTS)!r}, dtype=DT)", (n, filt))
        if kind == "pool":
            p = self.d(st.integers(1, 3))
            s = self.pick([None, 1, 2])
            pad = self.pick(["valid", "same"])
            n = _pool_len(t, p, s or p, pad)
            cls = self.pick(["MaxPooling1D", "AveragePooling1D"])
            if n >= 1:
                return self.new(f"layers.{cls}(pool_size={p}, strides={s}, padding={pad!r}, dtype=DT)", (n, c))
        if kind == "gpool":
            cls = self.pick(["GlobalAveragePooling1D", "GlobalMaxPooling1D"])
            return self.new(f"layers.{cls}(dtype=DT)", (c,))
        if kind == "pad":
            a, b = self.d(st.integers(0, 2)), self.d(st.integers(0, 2))
            if self.fits((t + a + b, c)):
                return self.new(f"layers.ZeroPadding1D(({a}, {b}), dtype=DT)", (t + a + b, c))
        if kind == "crop":
            a, b = self.d(st.integers(0, 2)), self.d(st.integers(0, 1))
            if t - a - b >= 1:
                return self.new(f"layers.Cropping1D(({a}, {b}), dtype=DT)", (t - a - b, c))
        if kind == "upsample":
            sz = self.d(st.integers(1, 3))
            if self.fits((t * sz, c)):
                return self.new(f"layers.UpSampling1D({sz}, dtype=DT)", (t * sz, c))
        if kind in _SHARED_KINDS:  # the layers every rank draws the same way
            return self.shared(kind)
        if kind == "dense":
            u = self.d(st.integers(1, 6))
            if self.fits((t, u)):
                return self.new(f"layers.Dense({u}, activation={self.pick(ACTS)!r}, dtype=DT)", (t, u))
        if kind == "rnn":
            return self.rnn()
        if kind == "mha":
            heads, kd = self.d(st.integers(1, 2)), self.d(st.integers(1, 3))
            out = self.pick([None, 3])
            causal = self.pick(["", ", use_causal_mask=True"])
            name = self.cur[0]
            return self.new(f"layers.MultiHeadAttention({heads}, {kd}, output_shape={out}, dtype=DT)",
                            (t, out or c), inputs=f"{name}, {name}{causal}")
        if kind == "attention":
            name = self.cur[0]
            mode = self.pick(["dot", "concat"])
            return self.new(f"layers.Attention(use_scale={self.pick([False, True])}, score_mode={mode!r}, dtype=DT)",
                            (t, c), inputs=f"[{name}, {name}]")
        if kind == "permute":
            return self.new("layers.Permute((2, 1), dtype=DT)", (c, t))
        if kind == "flatten":
            return self.new("layers.Flatten(dtype=DT)", (t * c,))
        if kind == "to_img":
            return self.new(f"layers.Reshape(({t}, {c}, 1), dtype=DT)", (t, c, 1))
        if kind == "einsum":
            u = self.d(st.integers(1, 4))
            if self.fits((t, u)):
                return self.new(f"layers.EinsumDense('abc,cd->abd', output_shape=(None, {u}), bias_axes='d', "
                                f"dtype=DT)", (t, u))
        if kind == "rnn_state":
            return self.rnn_state()
        return self.new(f"layers.Activation({self.pick(ACTS[2:])!r}, dtype=DT)", (t, c))

    def img_step(self):
        h, w, c = self.cur[1]
        kind = self.pick(["conv", "conv", "conv", "tconv", "tconv", "sepconv", "dwconv", "pool", "pool", "gpool", "pad",
                          "crop", "upsample", "bn", "ln", "gn", "permute", "flatten", "to_seq", "dense", "cf_conv",
                          "noise", "branch", "branch", "branch", "sub"])
        if kind in ("conv", "sepconv", "dwconv", "cf_conv"):
            kh, kw = self.d(st.integers(1, 3)), self.d(st.integers(1, 3))
            s, dil = (1, 1), (1, 1)
            pad = self.pick(["valid", "same"])
            how = self.d(st.integers(0, 3))
            if how == 1:
                s = self.pick([(2, 2), (1, 2), (2, 1)])
            elif how == 2:
                dil = self.pick([(2, 2), (2, 1)])
            oh, ow = _conv_len(h, kh, s[0], pad, dil[0]), _conv_len(w, kw, s[1], pad, dil[1])
            act = self.pick(ACTS)
            common = f"({kh}, {kw}), strides={s}, padding={pad!r}, dilation_rate={dil}, activation={act!r}"
            if kind == "conv":
                filt = self.d(st.integers(1, 5))
                groups = ""
                if c % 2 == 0 and how != 2 and self.d(st.integers(0, 3)) == 0:
                    filt, groups = 2 * self.d(st.integers(1, 2)), ", groups=2"
                layer = f"layers.Conv2D({filt}, {common}{groups}, dtype=DT)"
            elif kind == "sepconv":
                filt = self.d(st.integers(1, 5))
                m = self.d(st.integers(1, 2))
                layer = f"layers.SeparableConv2D({filt}, {common}, depth_multiplier={m}, dtype=DT)"
            elif kind == "dwconv":
                m = self.d(st.integers(1, 2))
                filt = c * m
                layer = f"layers.DepthwiseConv2D({common}, depth_multiplier={m}, dtype=DT)"
            else:  # channels_first between two Permutes
                filt = self.d(st.integers(1, 4))
                if self.fits((filt, oh, ow)) and self.fits((c, h, w)):
                    self.new("layers.Permute((3, 1, 2), dtype=DT)", (c, h, w))
                    self.new(f"layers.Conv2D({filt}, {common}, data_format='channels_first', dtype=DT)", (filt, oh, ow))
                    if self.d(st.booleans()):
                        self.new(f"layers.BatchNormalization(axis=1, momentum={self.pick([0.9, 0.5])}, dtype=DT)",
                                 (filt, oh, ow))
                    return self.new("layers.Permute((2, 3, 1), dtype=DT)", (oh, ow, filt))
                layer = None
            if layer and self.fits((oh, ow, filt)):
                return self.new(layer, (oh, ow, filt))
        if kind == "tconv":
            k, s = self.pick([(1, 1), (2, 2), (3, 3), (2, 1), (3, 2)]), self.pick([(1, 1), (2, 2), (1, 2)])
            pad = self.pick(["valid", "same"])
            filt = self.d(st.integers(1, 4))
            oh, ow = _tconv_len(h, k[0], s[0], pad), _tconv_len(w, k[1], s[1], pad)
            if self.fits((oh, ow, filt)):
                return self.new(f"layers.Conv2DTranspose({filt}, {k}, strides={s}, padding={pad!r}, "
                                f"activation={self.pick(ACTS)!r}, dtype=DT)", (oh, ow, filt))
        if kind == "pool":
            p = self.pick([(2, 2), (1, 2), (3, 3), (2, 1), (1, 1)])
            s = self.pick([None, (1, 1), (2, 2), (2, 1)])
            pad = self.pick(["valid", "same"])
            ss = s or p
            oh, ow = _pool_len(h, p[0], ss[0], pad), _pool_len(w, p[1], ss[1], pad)
            cls = self.pick(["MaxPooling2D", "AveragePooling2D"])
            if oh >= 1 and ow >= 1:
                return self.new(f"layers.{cls}(pool_size={p}, strides={s}, padding={pad!r}, dtype=DT)", (oh, ow, c))
        if kind == "gpool":
            cls = self.pick(["GlobalAveragePooling2D", "GlobalMaxPooling2D"])
            return self.new(f"layers.{cls}(dtype=DT)", (c,))
        if kind == "pad":
            p = ((self.d(st.integers(0, 2)), self.d(st.integers(0, 1))),
                 (self.d(st.integers(0, 1)), self.d(st.integers(0, 2))))
            shape = (h + sum(p[0]), w + sum(p[1]), c)
            if self.fits(shape):
                return self.new(f"layers.ZeroPadding2D({p}, dtype=DT)", shape)
        if kind == "crop":
            p = ((self.d(st.integers(0, 1)), self.d(st.integers(0, 1))),
                 (self.d(st.integers(0, 2)), self.d(st.integers(0, 1))))
            shape = (h - sum(p[0]), w - sum(p[1]), c)
            if self.fits(shape):
                return self.new(f"layers.Cropping2D({p}, dtype=DT)", shape)
        if kind == "upsample":
            sz = self.pick([(2, 2), (1, 2), (2, 1)])
            shape = (h * sz[0], w * sz[1], c)
            if self.fits(shape):
                return self.new(f"layers.UpSampling2D({sz}, dtype=DT)", shape)
        if kind in _SHARED_KINDS:  # the layers every rank draws the same way
            return self.shared(kind)
        if kind == "gn":
            g = self.pick([k for k in (1, 2, 3) if c % k == 0])
            return self.new(f"layers.GroupNormalization(groups={g}, dtype=DT)", (h, w, c))
        if kind == "permute":
            perm = self.pick([(2, 1, 3), (3, 1, 2), (1, 3, 2), (3, 2, 1)])
            return self.new(f"layers.Permute({perm}, dtype=DT)", tuple((h, w, c)[p - 1] for p in perm))
        if kind == "flatten":
            return self.new("layers.Flatten(dtype=DT)", (h * w * c,))
        if kind == "to_seq":
            return self.new(f"layers.Reshape(({h * w}, {c}), dtype=DT)", (h * w, c))
        if kind == "dense":
            u = self.d(st.integers(1, 4))
            if self.fits((h, w, u)):
                return self.new(f"layers.Dense({u}, activation={self.pick(ACTS)!r}, dtype=DT)", (h, w, u))
        return self.new(f"layers.Activation({self.pick(ACTS[2:])!r}, dtype=DT)", (h, w, c))

    def masked_step(self):
        """After Embedding(mask_zero=True): layers that consume or pass on the mask."""
        t, c = self.cur[1]
        kind = self.pick(["rnn", "rnn", "rnn", "dense", "ln", "gpool", "mha", "attention", "dropout"])
        if kind == "rnn":
            return self.rnn()
        if kind == "dense":
            u = self.d(st.integers(1, 6))
            return self.new(f"layers.Dense({u}, activation={self.pick(SMOOTH_ACTS)!r}, dtype=DT)", (t, u))
        if kind == "ln":
            return self.ln()
        if kind == "gpool":
            self.masked = False
            return self.new("layers.GlobalAveragePooling1D(dtype=DT)", (c,))
        if kind == "mha":
            heads, kd = self.d(st.integers(1, 2)), self.d(st.integers(1, 3))
            name = self.cur[0]
            return self.new(f"layers.MultiHeadAttention({heads}, {kd}, dtype=DT)", (t, c), inputs=f"{name}, {name}")
        if kind == "attention":
            name = self.cur[0]
            return self.new("layers.Attention(dtype=DT)", (t, c), inputs=f"[{name}, {name}]")
        return self.dropout()

    # ---- shared layers ------------------------------------------------------------------------
    def bn(self):
        shape = self.cur[1]
        mom = self.pick([0.9, 0.5, 0.99])
        eps = self.pick([0.001, 0.1])
        extra = self.pick(["", "", ", center=False", ", scale=False"])
        return self.new(f"layers.BatchNormalization(momentum={mom}, epsilon={eps}{extra}, dtype=DT)", shape)

    def ln(self):
        shape = self.cur[1]
        extra = self.pick(["", "", ", scale=False", ", center=False", ", epsilon=0.1"])
        axis = self.pick([-1, -1] + ([[-2, -1]] if len(shape) >= 2 else []))
        return self.new(f"layers.LayerNormalization(axis={axis}{extra}, dtype=DT)", shape)

    def dropout(self):
        rate = self.pick([0.0, 0.0, 0.25])
        if rate:
            self.random = True
        return self.new(f"layers.Dropout({rate}, dtype=DT)", self.cur[1])

    def noise(self):
        shape = self.cur[1]
        self.random = True
        choices = ["layers.GaussianNoise(0.1, dtype=DT)", "layers.GaussianDropout(0.2, dtype=DT)"]
        if len(shape) == 2:
            choices.append("layers.SpatialDropout1D(0.3, dtype=DT)")
        if len(shape) == 3:
            choices.append("layers.SpatialDropout2D(0.3, dtype=DT)")
        return self.new(self.pick(choices), shape)

    def act_layer(self):
        shape = self.cur[1]
        layer = self.pick(["layers.PReLU(dtype=DT)", "layers.LeakyReLU(0.2, dtype=DT)", "layers.ELU(dtype=DT)",
                           "layers.ReLU(max_value=1.5, dtype=DT)", "layers.Softmax(dtype=DT)",
                           "layers.UnitNormalization(dtype=DT)", "layers.Rescaling(0.5, offset=0.25, dtype=DT)"])
        return self.new(layer, shape)

    def rnn(self):
        t, c = self.cur[1]
        cls = self.pick(["LSTM", "GRU", "SimpleRNN"])
        units = self.d(st.integers(1, 4))
        seqs = self.d(st.booleans())
        back = self.d(st.booleans())
        extra = ""
        variant = self.d(st.integers(0, 5))
        if variant == 0:
            extra = ", activation='relu'" if cls != "GRU" else ", reset_after=False"
        elif variant == 1:
            extra = ", unroll=True"
        elif variant == 2 and cls != "SimpleRNN":
            extra = ", recurrent_activation='hard_sigmoid'"
        elif variant == 3:
            extra = ", use_bias=False"
        elif variant == 4 and self.d(st.booleans()):
            extra = f", dropout={self.pick([0.0, 0.3])}, recurrent_dropout={self.pick([0.0, 0.3])}"
            self.random = self.random or "0.3" in extra
        inner = f"layers.{cls}({units}, return_sequences={seqs}, go_backwards={back}{extra}, dtype=DT)"
        bidi = self.d(st.integers(0, 2)) == 0
        out = units
        if bidi:
            mode = self.pick(["concat", "sum", "ave", "mul"])
            out = units * 2 if mode == "concat" else units
            inner = f"layers.Bidirectional({inner}, merge_mode={mode!r}, dtype=DT)"
        if not seqs:
            self.masked = False
            return self.new(inner, (out,))
        return self.new(inner, (t, out))

    def submodel(self):
        """A Sequential model of shape-keeping layers, used as a layer."""
        shape = self.cur[1]
        saved = (self.lines, self.chain, self.is_chain, self.n, self.cur)
        self.lines, self.chain, self.is_chain = [], [], True
        for _ in range(self.d(st.integers(1, 2))):
            self.preserving(self.cur[1], False)
        inner = ", ".join(self.chain)
        self.lines, self.chain, self.is_chain, self.n, self.cur = saved
        return self.new(f"lk.Sequential([{inner}])", shape)

    def rnn_state(self):
        """An LSTM/GRU/SimpleRNN with return_state=True: its output and states concatenated."""
        t, c = self.cur[1]
        cls = self.pick(["LSTM", "GRU", "SimpleRNN"])
        units = self.d(st.integers(1, 4))
        back = self.d(st.booleans())
        name = f"h{self.n}"
        self.n += 1
        self.is_chain = False
        self.lines.append((f"{name}, *{name}s", f"layers.{cls}({units}, return_state=True, go_backwards={back}, "
                                                f"dtype=DT)", self.cur[0]))
        n_states = 2 if cls == "LSTM" else 1
        self.masked = False
        return self.new("layers.Concatenate(dtype=DT)", (units * (1 + n_states),), inputs=f"[{name}] + {name}s")

    def shared_branch(self):
        """One layer applied on two branches (its weights shared, its gradients summed)."""
        start = self.cur
        shape = start[1]
        kinds = ["dense", "ln", "bn"] + (["conv"] if len(shape) >= 2 else [])
        kind = self.pick(kinds)
        if kind == "dense":
            expr = f"layers.Dense({shape[-1]}, activation={self.pick(ACTS)!r}, dtype=DT)"
        elif kind == "ln":
            expr = "layers.LayerNormalization(dtype=DT)"
        elif kind == "bn":
            expr = f"layers.BatchNormalization(momentum={self.pick([0.9, 0.5])}, dtype=DT)"
        else:
            conv = "Conv1D" if len(shape) == 2 else "Conv2D"
            expr = f"layers.{conv}({shape[-1]}, {self.d(st.integers(1, 3))}, padding='same', dtype=DT)"
        shared = f"s{self.n}"
        self.n += 1
        self.lines.append((shared, expr, None))
        a = self.new(shared, shape, inputs=start[0])[0]
        self.cur = start
        self.preserving(shape, False)
        b = self.new(shared, shape, inputs=self.cur[0])[0]
        merge = self.pick(MERGES_SAME)
        return self.new(f"layers.{merge}(dtype=DT)", shape[:-1] + (2 * shape[-1],) if merge == "Concatenate"
                        else shape, inputs=f"[{a}, {b}]")

    def preserving(self, shape, may_change_last):
        """One layer that keeps the shape (or only its last dim, when allowed)."""
        rank = len(shape)
        kinds = ["dense", "act", "bn", "ln"] + (["conv"] if rank >= 2 else [])
        kind = self.pick(kinds)
        last = shape[-1]
        if may_change_last and kind in ("dense", "conv"):
            last = self.d(st.integers(1, 5))
            if not self.fits(shape[:-1] + (last,)):
                last = shape[-1]
        if kind == "dense":
            return self.new(f"layers.Dense({last}, activation={self.pick(ACTS)!r}, dtype=DT)", shape[:-1] + (last,))
        if kind == "act":
            return self.new(f"layers.Activation({self.pick(ACTS[2:])!r}, dtype=DT)", shape)
        if kind == "bn":
            return self.bn()
        if kind == "ln":
            return self.ln()
        k = self.d(st.integers(1, 3))
        conv = "Conv1D" if rank == 2 else "Conv2D"
        return self.new(f"layers.{conv}({last}, {k}, padding='same', activation={self.pick(ACTS)!r}, dtype=DT)",
                        shape[:-1] + (last,))

    def branch(self):
        """Two branches from the current value, merged."""
        if self.d(st.integers(0, 3)) == 0 and self.fits(self.cur[1][:-1] + (2 * self.cur[1][-1],)):
            return self.shared_branch()
        start = self.cur
        concat = self.d(st.integers(0, 3)) == 0
        ends = []
        for _ in range(2):
            self.cur = start
            for _ in range(self.d(st.integers(0, 2))):
                self.preserving(self.cur[1], concat)
            ends.append(self.cur)
        (a, sa), (b, sb) = ends
        self.is_chain = False
        self.taps += [e for e in ends if e[0] != "h_in"][:1]
        if concat or sa != sb:
            axis = -1  # the layer's axis; per-sample shapes have no batch axis: axis 1 is their index 0
            if sa == sb and len(sa) >= 2 and sa[0] is not None and self.d(st.booleans()):
                axis = 1
            at = axis - 1 if axis > 0 else axis
            out = list(sa)
            out[at] = sa[at] + sb[at]
            if self.fits(out):
                return self.new(f"layers.Concatenate(axis={axis}, dtype=DT)", tuple(out), inputs=f"[{a}, {b}]")
            if sa != sb:  # too large to concatenate: project b to a's shape
                self.cur = (b, sb)
                b = self.new(f"layers.Dense({sa[-1]}, dtype=DT)", sa)[0]
        merge = self.pick(MERGES_SAME[:-1] + (["Dot"] if len(sa) == 1 else []))
        if merge == "Dot":
            return self.new("layers.Dot(axes=1, dtype=DT)", (1,), inputs=f"[{a}, {b}]")
        return self.new(f"layers.{merge}(dtype=DT)", sa, inputs=f"[{a}, {b}]")


class FcnGen(Gen):
    """A fully convolutional model (every layer takes any length / height / width): the spatial
    sizes stay unknown (None) while tracing. Strides, paddings and pooling change them, so the
    traced graph holds values whose different unknown sizes print alike, (None, None, C)."""

    def __init__(self, draw):
        super().__init__(draw)
        self.grown = 0  # layers that enlarge the spatial sizes, at most one

    def fits(self, shape):
        return all(s is None or s >= 1 for s in shape) and shape[-1] <= 8

    def ln(self):
        return self.new(f"layers.LayerNormalization(epsilon={self.pick([0.001, 0.1])}, dtype=DT)", self.cur[1])

    def step(self):
        shape = self.cur[1]
        rank, c = len(shape) - 1, shape[-1]
        kind = self.pick(["conv", "conv", "conv", "dwconv", "sepconv", "tconv", "pool", "pool", "pad", "bn", "ln",
                          "gn", "dense", "act", "branch", "branch", "branch", "branch", "up"])
        k = self.d(st.integers(1, 3))
        s, dil = self.pick([(1, 1), (2, 1), (2, 1), (1, 2)])
        if kind in ("conv", "dwconv", "sepconv"):
            act = self.pick(ACTS[2:])  # an activation: its derivative is fused with others
            common = f"{k}, strides={s}, padding='same', dilation_rate={dil}, activation={act!r}, dtype=DT"
            if kind == "conv":
                f = self.d(st.integers(1, 5))
                return self.new(f"layers.Conv{rank}D({f}, {common})", shape[:-1] + (f,))
            if kind == "dwconv":
                m = self.d(st.integers(1, 2))
                if self.fits((c * m,)):
                    return self.new(f"layers.DepthwiseConv{rank}D({common}, depth_multiplier={m})",
                                    shape[:-1] + (c * m,))
            f = self.d(st.integers(1, 5))
            return self.new(f"layers.SeparableConv{rank}D({f}, {common})", shape[:-1] + (f,))
        if kind in ("tconv", "pad", "up") and self.grown < 1:
            self.grown += 1
            if kind == "up":
                return self.new(f"layers.UpSampling{rank}D(2, dtype=DT)", shape)
            if kind == "tconv":
                f = self.d(st.integers(1, 4))
                return self.new(f"layers.Conv{rank}DTranspose({f}, {k}, strides={s}, padding='same', "
                                f"activation={self.pick(ACTS)!r}, dtype=DT)", shape[:-1] + (f,))
            return self.new(f"layers.ZeroPadding{rank}D({self.d(st.integers(1, 2))}, dtype=DT)", shape)
        if kind == "pool":
            cls = self.pick(["MaxPooling", "AveragePooling"])
            return self.new(f"layers.{cls}{rank}D({k}, strides={self.pick([None, 1, 2])}, padding='same', dtype=DT)",
                            shape)
        if kind in _SHARED_KINDS:  # the layers every rank draws the same way
            return self.shared(kind)
        if kind == "gn":
            g = self.pick([d for d in (1, 2, 3) if c % d == 0])
            return self.new(f"layers.GroupNormalization(groups={g}, dtype=DT)", shape)
        if kind == "dense":
            u = self.d(st.integers(1, 5))
            return self.new(f"layers.Dense({u}, activation={self.pick(ACTS)!r}, dtype=DT)", shape[:-1] + (u,))
        return self.new(f"layers.Activation({self.pick(ACTS[2:])!r}, dtype=DT)", shape)


@st.composite
def fcn_models(draw):
    """A fully convolutional model case: its input has unknown spatial sizes (Input((None, C)) or
    Input((None, None, C))), each step gets its own sizes, and the compiled step is traced with
    them unknown (an input_signature with None there, or reduce_retracing=True)."""
    rank = draw(st.integers(1, 2))
    c = draw(st.integers(1, 3))
    shape = (None,) * rank + (c,)
    g = FcnGen(draw)
    g.lines.append(("h_in", "layers.Input", f"shape={shape!r}, dtype=DT"))
    g.cur = ("h_in", shape)
    for _ in range(draw(st.integers(1, 6))):
        g.step()
    pool = draw(st.sampled_from(["GlobalAveragePooling", "GlobalMaxPooling"]))
    g.new(f"layers.{pool}{rank}D(dtype=DT)", (g.cur[1][-1],))
    size = st.tuples(*[st.integers(2, 8)] * rank)
    first = draw(size)
    sizes = [first, first, draw(size), draw(st.tuples(*[st.integers(1, 8)] * rank))]
    return _finish(draw, g, f"fcn{rank}d", shape, "DT", False, sizes=sizes)


@st.composite
def models(draw, family=None):
    """A model case: dict with `source` (defining build() and make_step(model), using DT), the input
    kind and shape, the loss, and the seeds."""
    family = family or draw(st.sampled_from(["vec", "seq", "img", "tokens", "seq", "img"]))
    large = draw(st.integers(0, 4)) == 0  # several blocks of the fused kernels, several threads
    g = Gen(draw, 4 * MAX_ELEMS if large else MAX_ELEMS)
    vocab = None
    if family == "vec":
        shape = (draw(st.integers(1, 40 if large else 8)),)
    elif family == "seq":
        shape = (draw(st.integers(2, 20 if large else 8)), draw(st.integers(1, 8 if large else 4)))
    elif family == "img":
        side = 12 if large else 7
        shape = (draw(st.integers(2, side)), draw(st.integers(2, side)), draw(st.integers(1, 3)))
    else:
        shape = (draw(st.integers(2, 16 if large else 7)),)
        vocab = draw(st.integers(3, 12))
    in_dtype = "'int32'" if family == "tokens" else "DT"
    g.lines.append(("h_in", "layers.Input", f"shape={shape!r}, dtype={in_dtype}"))
    g.cur = ("h_in", shape)
    if family == "tokens":
        mask = draw(st.booleans())
        dim = draw(st.integers(1, 5))
        g.new(f"layers.Embedding({vocab}, {dim}, mask_zero={mask}, dtype=DT)", shape + (dim,))
        g.masked = mask
        if draw(st.integers(0, 2)):
            g.rnn()
    masking = family == "seq" and draw(st.integers(0, 3)) == 0
    if masking:  # the inputs get all-zero trailing time steps
        g.new("layers.Masking(mask_value=0.0, dtype=DT)", shape)
        g.masked = True
    for _ in range(draw(st.integers(1, 7))):
        g.step()
    return _finish(draw, g, family, shape, in_dtype, large, vocab=vocab, masking=masking)


def _finish(draw, g, family, shape, in_dtype, large, vocab=None, masking=False, sizes=None):
    """The head, the model's source in one of the three styles, the training step and the data."""
    second = None  # a second input, a vector, joined before the head
    if draw(st.integers(0, 5)) == 0:
        second = (draw(st.integers(1, 5)),)
        g.lines.append(("h_in2", "layers.Input", f"shape={second!r}, dtype=DT"))
        if len(g.cur[1]) > 1:
            g.new("layers.Flatten(dtype=DT)", (_prod(g.cur[1]),))
        main = g.cur
        g.cur = ("h_in2", second)
        g.preserving(second, True)
        g.new("layers.Concatenate(dtype=DT)", (main[1][0] + g.cur[1][0],), inputs=f"[{main[0]}, {g.cur[0]}]")
    loss = draw(st.sampled_from(["mse", "sce", "sce_fused"]))
    out_shape = g.cur[1]
    if loss != "mse" or draw(st.booleans()):
        k = draw(st.integers(2, 5)) if loss != "mse" else draw(st.integers(1, 4))
        if not g.fits(out_shape[:-1] + (k,)) or (len(out_shape) == 3 and draw(st.booleans())):
            g.new("layers.Flatten(dtype=DT)", (_prod(out_shape),))
        out_shape = g.cur[1][:-1] + (k,)
        g.new(f"layers.Dense({k}, dtype=DT)", out_shape)
    outputs = [g.cur]
    if g.taps and draw(st.booleans()):
        outputs.append(g.taps[draw(st.integers(0, len(g.taps) - 1))])
        g.is_chain = False
    style = draw(st.sampled_from(["sequential", "functional", "functional", "subclass"]))
    outs = outputs[0][0] if len(outputs) == 1 else "[" + ", ".join(o[0] for o in outputs) + "]"
    ins = "[h_in, h_in2]" if second else "h_in"
    if style == "sequential" and g.is_chain and not second:
        body = [f"        layers.Input(shape={shape!r}, dtype={in_dtype}),"] + [f"        {e}," for e in g.chain]
        build = "def build():\n    return lk.Sequential([\n" + "\n".join(body) + "\n    ])\n"
    elif style == "subclass":  # the same graph as a subclassed model: layers in __init__, the pass in call()
        init, call = [], []
        for k, (target, expr, args) in enumerate(g.lines):
            if target in ("h_in", "h_in2"):
                continue
            if args is None:  # a shared layer
                init.append(f"self.{target} = {expr}")
                continue
            if re.fullmatch(r"s\d+", expr):
                call.append(f"{target} = self.{expr}({args})")
                continue
            init.append(f"self.l{k} = {expr}")
            call.append(f"{target} = self.l{k}({args})")
        arg = "inputs" if second else "h_in"
        unpack = ["h_in, h_in2 = inputs"] if second else []
        build = ("class Net(lk.Model):\n    def __init__(self, **kwargs):\n        super().__init__(**kwargs)\n"
                 + "".join(f"        {line}\n" for line in init)
                 + f"\n    def call(self, {arg}):\n" + "".join(f"        {line}\n" for line in unpack + call)
                 + f"        return {outs}\n\n\ndef build():\n    return Net()\n")
    else:
        body = [f"{t} = {e}" if a is None else f"{t} = {e}({a})" for t, e, a in g.lines]
        build = "def build():\n" + "".join(f"    {line}\n" for line in body) + f"    return lk.Model({ins}, {outs})\n"
    training = not g.random and draw(st.integers(0, 5)) > 0
    lr = draw(st.sampled_from([0.05, 0.1]))
    mu = draw(st.sampled_from([0.0, 0.9, 0.5]))
    nesterov = mu > 0 and draw(st.booleans())
    if len(outputs) == 1:
        head = "    out = model(x, training=TRAINING)\n    main = out\n"
        aux = ""
    else:
        head = "    out = model(x, training=TRAINING)\n    main = out[0]\n"
        aux = " + 0.1 * ops.mean(ops.square(out[1]))"
    if loss == "mse":
        expr = "ops.mean(ops.square(main - y))"
    elif loss == "sce":
        expr = "ops.mean(ops.sparse_categorical_crossentropy(y, main, from_logits=True))"
    else:
        expr = "ops.mean(ops.sparse_softmax_cross_entropy(y, main))"
    update = ("            v.assign(MU * v - LR * g)\n"
              + ("            w.assign_add(MU * v - LR * g)\n" if nesterov else "            w.assign_add(v)\n"))
    step = (
        "def make_step(model):\n"
        "    vel = [lk.Variable(np.zeros(w.shape, w.dtype), trainable=False) for w in model.trainable_weights]\n\n"
        "    def step(x, y):\n"
        "        with lk.GradientTape() as tape:\n"
        + "".join("        " + line + "\n" for line in head.splitlines())
        + f"            loss = {expr}{aux}\n"
        "            if model.losses:\n"
        "                loss = loss + ops.sum(ops.stack(model.losses))\n"
        "        grads = tape.gradient(loss, model.trainable_weights)\n"
        "        for w, g, v in zip(model.trainable_weights, grads, vel):\n"
        "            if g is None:\n"
        "                continue\n"
        + update
        + "        return loss, out, grads\n"
        "    return step, vel\n")
    step = step.replace("TRAINING", repr(training)).replace("MU", repr(mu)).replace("LR", repr(lr))
    y_shape = out_shape[:-1] if loss != "mse" else out_shape
    batch = draw(st.integers(17, 40)) if large else draw(st.integers(2, 5))
    later = draw(st.sampled_from([b for b in (2, 3, 4, 6, 33) if b != batch]))
    how = draw(st.sampled_from(["signature", "reduce"] + (["retrace"] if sizes is None else [])))
    return {"source": build + "\n\n" + step, "family": family, "in_shape": shape, "vocab": vocab,
            "loss": loss, "k": out_shape[-1], "y_shape": y_shape, "batches": [batch, batch, later, 1],
            "compile": how, "masking": masking, "second": second, "sizes": sizes,
            "seeds": [draw(st.integers(0, 2**31 - 1)) for _ in range(2)], "grid": draw(st.booleans()),
            "masked": "mask_zero=True" in build}


# ---- running and comparing -----------------------------------------------------------------------
def _data(case, call, batch=None):
    """(x, y) of call `call` as float32/int32 numpy arrays (a float64 run upcasts x and y exactly)."""
    rng = np.random.default_rng(case["seeds"][0] + 1000 * call)
    b = batch or case["batches"][call]
    if case["family"] == "tokens":
        t = case["in_shape"][0]
        x = rng.integers(1, case["vocab"], (b, t))
        if case["masked"]:  # padding: trailing zeros, sometimes an inner zero or an all-padding row
            lengths = rng.integers(0 if rng.integers(0, 3) == 0 else 1, t + 1, b)
            x[np.arange(t)[None, :] >= lengths[:, None]] = 0
            if rng.integers(0, 3) == 0:
                x[0, rng.integers(0, t)] = 0
        x = x.astype("int32")
    else:
        in_shape = case["in_shape"]
        if case["sizes"]:  # unknown spatial sizes: each call its own
            in_shape = case["sizes"][min(call, len(case["sizes"]) - 1)] + in_shape[-1:]
        x = rng.uniform(-2.0, 2.0, (b,) + tuple(in_shape))
        if case["grid"]:
            x = np.round(x * 8) / 8
        if case["masking"]:  # all-zero trailing steps (sometimes a whole row) for Masking
            t = case["in_shape"][0]
            lengths = rng.integers(0 if rng.integers(0, 3) == 0 else 1, t + 1, b)
            x[np.arange(t)[None, :] >= lengths[:, None]] = 0.0
        x = x.astype("float32")
    if case["second"]:
        x = [x, np.round(rng.uniform(-2.0, 2.0, (b,) + tuple(case["second"])) * 8).astype("float32") / 8]
    if case["loss"] == "mse":
        y = np.round(rng.uniform(-1.0, 1.0, (b,) + tuple(case["y_shape"])) * 8).astype("float32") / 8
    else:
        y = rng.integers(0, case["k"], (b,) + tuple(case["y_shape"])).astype("int32")
    return x, y


def _namespace(case):
    ns = {"lk": lk, "ops": ops, "layers": layers, "np": np}
    exec(case["source"], ns)  # noqa: S102 - the generated model
    return ns


def _cast(x, dtype, x_dtype, convert, layout=0):
    """x (an array, or a list of two for two inputs) in the run's dtypes, as tensors if `convert`;
    else, by `layout`: a C-ordered array, a Fortran-ordered one, a strided view or a tensor."""
    if isinstance(x, list):
        return [_cast(x[0], dtype, x_dtype, convert, layout), _cast(x[1], dtype, dtype, convert, layout + 1)]
    x = x.astype(x_dtype)
    if convert or layout % 4 == 3:
        return lk.convert_to_tensor(x)
    if layout % 4 == 1:
        return np.asfortranarray(x)
    if layout % 4 == 2:
        return np.repeat(x, 2, axis=-1)[..., ::2]
    return x


def _model(case, dtype):
    """The case's model, built (a subclassed model by a first call, in inference mode)."""
    ns = _namespace(case)
    ns["DT"] = dtype
    model = ns["build"]()
    x_dtype = "int32" if case["family"] == "tokens" else dtype
    model(_cast(_data(case, 0)[0], dtype, x_dtype, True), training=False)
    return ns, model


def _initial_weights(case):
    """The initial weights (float32 values, exact in float64 too) and the weights' names."""
    lk.utils.set_random_seed(case["seeds"][1] % 10000)
    _, model = _model(case, "float32")
    return [np.array(w) for w in model.get_weights()], [getattr(w, "path", None) or w.name for w in model.weights]


def _flat(result):
    if result is None:
        return [None]
    if isinstance(result, (list, tuple)):
        return [x for r in result for x in _flat(r)]
    return [np.array(result)]


def _spec(a, case, first=True):
    """The TensorSpec of a batch like `a` (of the first input if `first`): the batch size and, for
    fully convolutional models, the spatial sizes unknown."""
    if isinstance(a, list):
        return [_spec(a[0], case), _spec(a[1], case, False)]
    if case["sizes"] and first:
        return lk.TensorSpec((None,) * (a.ndim - 1) + a.shape[-1:], str(a.dtype))
    return lk.TensorSpec((None,) + a.shape[1:], str(a.dtype))


def _run(case, dtype, compiled, init):
    """Per call: (loss/outputs/gradient leaves, weights + velocities); then the inference outputs
    of the trained model on a batch; plus the compiled first call's results as returned."""
    ns, model = _model(case, dtype)
    model.set_weights([w.astype(dtype) for w in init])
    step, vel = ns["make_step"](model)
    x_dtype = "int32" if case["family"] == "tokens" else dtype
    y_dtype = "int32" if case["loss"] != "mse" else dtype
    if compiled:
        how = case["compile"]
        if how == "signature":
            x0, y0 = _data(case, 0)
            step = lk.function(step, input_signature=[_spec(_cast(x0, dtype, x_dtype, False), case),
                                                      _spec(y0.astype(y_dtype), case, False)])
        else:
            step = lk.function(step, reduce_retracing=how == "reduce")
    history, kept = [], None
    for call in range(len(case["batches"])):
        x, y = _data(case, call)
        out = step(_cast(x, dtype, x_dtype, not compiled, call), _cast(y, dtype, y_dtype, not compiled, call + 2))
        history.append((_flat(out), [np.array(w) for w in model.weights] + [np.array(v) for v in vel]))
        if call == 0 and compiled:
            kept = out
    # inference on the trained model, batch sizes 3 then 1
    infer = (lambda a: model(a, training=False))
    if compiled:
        infer = lk.function(infer, reduce_retracing=case["compile"] != "retrace")
    for b in (3, 1):
        x = _cast(_data(case, 7, batch=b)[0], dtype, x_dtype, not compiled)
        history.append((_flat(infer(x)), []))
    return history, kept


def _where(case, what):
    return (f"{what}\n--- model (family {case['family']}, input {case['in_shape']}, loss {case['loss']}, batches "
            f"{case['batches']}, sizes {case['sizes']}, compiled with {case['compile']}, seeds {case['seeds']}, "
            f"grid {case['grid']}) ---\n"
            f"{case['source']}")


def _compare(case, dtype, got, exp, other, what):
    compare(lambda message: _where(case, message), dtype, got, exp, other, what)


def check_model(case, dtype):
    other_dtype = "float64" if dtype == "float32" else "float32"
    init, names = _initial_weights(case)
    eager, _ = _run(case, dtype, False, init)
    for outs, weights in eager:
        assume(all(o is None or np.all(np.isfinite(o)) for o in outs + weights))
        assume(all(o is None or np.abs(o).max(initial=0) < 1e4 for o in outs + weights))
    other, _ = _run(case, other_dtype, False, init)
    compiled, kept = _run(case, dtype, True, init)
    n_calls = len(case["batches"])
    for call, ((go, gw), (eo, ew), (oo, ow)) in enumerate(zip(compiled, eager, other)):
        when = f"step {call + 1} (batch {case['batches'][call]})" if call < n_calls else \
            f"inference after training, batch {(3, 1)[call - n_calls]}"
        assert len(go) == len(eo), _where(case, f"{when}: {len(go)} results compiled, {len(eo)} eager")
        for k, (g, e, o) in enumerate(zip(go, eo, oo)):
            _compare(case, dtype, g, e, o, f"{when}, result leaf {k}" + (" (the loss)" if k == 0 and call < n_calls
                                                                          else ""))
        for k, (g, e, o) in enumerate(zip(gw, ew, ow)):
            label = names[k] if k < len(names) else f"velocity {k - len(names)}"
            _compare(case, dtype, g, e, o, f"{when}, weight {k} ({label})")
    for k, (r, e, o) in enumerate(zip(_flat_raw(kept), eager[0][0], other[0][0])):
        if r is not None:
            _compare(case, dtype, np.array(r), e, o, f"step 1 result leaf {k} read again after the later steps")


def _flat_raw(result):
    if isinstance(result, (list, tuple)):
        return [x for r in result for x in _flat_raw(r)]
    return [result]


# ---- the tests -------------------------------------------------------------------------------------
@settings(max_examples=200, **SETTINGS)
@given(case=models())
def test_random_models_training_steps_compiled_equal_eager_float32(case):
    check_model(case, "float32")


@settings(max_examples=80, **SETTINGS)
@given(case=models())
def test_random_models_training_steps_compiled_equal_eager_float64(case):
    check_model(case, "float64")


@settings(max_examples=100, **SETTINGS)
@given(case=models("tokens"), dtype=st.sampled_from(["float32", "float32", "float64"]))
def test_random_recurrent_models_compiled_equal_eager(case, dtype):
    """Embedding (with or without mask_zero) into LSTM/GRU/SimpleRNN stacks, Bidirectional."""
    check_model(case, dtype)


@settings(max_examples=120, **SETTINGS)
@given(case=fcn_models(), dtype=st.sampled_from(["float32", "float32", "float64"]))
def test_random_fully_convolutional_models_with_unknown_sizes_compiled_equal_eager(case, dtype):
    """Conv/pool/normalization stacks traced once for every length (or height and width)."""
    check_model(case, dtype)


@settings(max_examples=15, **SETTINGS)
@given(case=models(), dtype=st.sampled_from(["float32", "float64"]))
def test_random_models_at_every_simd_level(isa_level, case, dtype):
    """Eager and compiled on each SIMD level's kernels (the fixture skips levels this CPU lacks)."""
    check_model(case, dtype)
