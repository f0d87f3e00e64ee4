"""GRUCell: one step of the Gated Recurrent Unit (gates z, r, h)."""
from layerkit import activations, constraints, initializers, ops, regularizers
from layerkit.layers.layer import Layer
from layerkit.layers.rnn.dropout_rnn_cell import DropoutRNNCell, check_cell_args, column_blocks, project_gates
from layerkit.random import SeedGenerator


class GRUCell(Layer, DropoutRNNCell):
    """Cell class for the GRU layer: processes one time step of a sequence.

    With the weights split into the blocks z (update), r (reset), h (candidate), in that order:
    `z = σ(x W_z + h U_z)`, `r = σ(x W_r + h U_r)`, and the candidate
    `hh = tanh(x W_h + r * (h U_h + b_rh))` when `reset_after=True` (Keras's default, the cuDNN
    form, with separate input and recurrent biases) or `tanh(x W_h + (r * h) U_h + b_h)` when
    False; then `h_t = z * h_{t-1} + (1 - z) * hh`.

    Args:
        units: dimensionality of the output space (and of the state).
        activation: activation of the candidate ("tanh"; None: linear).
        recurrent_activation: activation of the gates ("sigmoid").
        use_bias: whether to add biases.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers of the kernel
            (in, 3*units), the recurrent kernel (units, 3*units) ("orthogonal") and the bias,
            (2, 3*units) with reset_after (row 0 input bias, row 1 recurrent bias) else (3*units,).
        kernel_regularizer, recurrent_regularizer, bias_regularizer: weight regularizers.
        kernel_constraint, recurrent_constraint, bias_constraint: weight constraints.
        dropout: fraction of the input units to drop (training only; one mask per sequence).
        recurrent_dropout: fraction of the state units to drop; with it each gate gets its own
            masks (Keras's implementation 1).
        reset_after: apply the reset gate after the recurrent matrix product (True) or before.
        seed: seed of the dropout masks.

    Call arguments:
        inputs: (batch, features), one time step.
        states: the previous state: a tensor (batch, units) or a list holding it.
        training: whether dropout applies.

    Returns `(output, new_states)`: output (batch, units), new_states in the form `states` had.

    Example:
    >>> import layerkit as lk
    >>> cell = lk.layers.GRUCell(4)
    >>> out, states = cell(lk.ops.ones((2, 3)), [lk.ops.zeros((2, 4))])
    >>> out.shape, [w.shape for w in cell.weights]
    ((2, 4), [(3, 12), (4, 12), (2, 12)])
    """

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 reset_after=True, seed=None, **kwargs):
        implementation = kwargs.pop("implementation", 2)
        super().__init__(**kwargs)
        check_cell_args(self, units, dropout, recurrent_dropout)
        self.implementation = 1 if recurrent_dropout else implementation
        if self.implementation == 1:
            self.dropout_mask_count = 3  # one mask per gate
        self.units = units
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        self.reset_after = reset_after
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(f"GRUCell '{self.name}': the feature axis of the input must be known to create the "
                             f"kernel, received an input of shape {tuple(input_shape)}.")
        u = self.units
        self.kernel = self.add_weight(shape=(input_shape[-1], 3 * u), name="kernel",
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(shape=(u, 3 * u), name="recurrent_kernel",
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            shape = (2, 3 * u) if self.reset_after else (3 * u,)
            self.bias = self.add_weight(shape=shape, name="bias", initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def _split_call(self, inputs, training=False):
        """The cell as (input projection, recurrent step): `inputs` (batch, [time,] features)
        projected by the kernel (plus the input bias) in one product, and a pure
        `step(projected_t, [h]) -> (h, [h])` that adds the recurrent part. RNN runs the step over time."""
        batch, u = inputs.shape[0], self.units
        dp = self.get_dropout_mask((batch, inputs.shape[-1])) if training else None
        rdp = self.get_recurrent_dropout_mask((batch, u)) if training else None
        input_bias = recurrent_bias = None
        if self.bias is not None:
            input_bias, recurrent_bias = (self.bias[0], self.bias[1]) if self.reset_after else (self.bias, None)
        x = project_gates(inputs, self.kernel, dp, 3)
        if input_bias is not None:
            x = ops.add(x, input_bias)
        act, rec_act, reset_after = self.activation, self.recurrent_activation, self.reset_after
        masks = (rdp if isinstance(rdp, list) else [rdp] * 3) if rdp is not None else None
        # the recurrent kernel's blocks, sliced once per sequence rather than at every step
        if reset_after and masks is None:
            rk_zrh = self.recurrent_kernel
        else:
            rk_z, rk_r, rk_h = column_blocks(self.recurrent_kernel, 3)
            rk_zr = ops.concatenate([rk_z, rk_r], axis=-1) if masks is None else None

        def step(x_t, states):
            h_tm1 = states[0]
            if reset_after and masks is None:
                inner = ops.matmul(h_tm1, rk_zrh)
            elif masks is None:
                inner = ops.matmul(h_tm1, rk_zr)  # z and r only: h's block needs r first
            else:
                inner = ops.concatenate([ops.matmul(h_tm1 * masks[0], rk_z), ops.matmul(h_tm1 * masks[1], rk_r)]
                                        + ([ops.matmul(h_tm1 * masks[2], rk_h)] if reset_after else []), axis=-1)
            if reset_after and recurrent_bias is not None:
                inner = inner + recurrent_bias
            z = rec_act(x_t[:, :u] + inner[:, :u])
            r = rec_act(x_t[:, u:2 * u] + inner[:, u:2 * u])
            if reset_after:
                recurrent_h = r * inner[:, 2 * u:]
            else:
                h_h = h_tm1 if masks is None else h_tm1 * masks[2]
                recurrent_h = ops.matmul(r * h_h, rk_h)
            hh = act(x_t[:, 2 * u:] + recurrent_h)
            h = z * h_tm1 + (1 - z) * hh
            return h, [h]
        return x, step

    def call(self, inputs, states, training=False):
        x, step = self._split_call(inputs, training)
        output, new_states = step(x, states if isinstance(states, (list, tuple)) else [states])
        return output, (new_states if isinstance(states, (list, tuple)) else new_states[0])

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.state_size), dtype=self.dtype)]

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "reset_after": self.reset_after,
            "seed": self.seed,
        })
        return config
