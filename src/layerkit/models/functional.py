"""Functional models: a graph of layer calls (and ops) from `Input` tensors to outputs."""
from layerkit.layers.core.input_layer import InputLayer
from layerkit.layers.layer import Layer
from layerkit.models.model import Model
from layerkit.ops import SymbolicTensor, Tensor, apply, convert_to_tensor
from layerkit.utils import tree


class _OpNode:
    """A primitive op applied to symbolic tensors between layers (e.g. `lk.ops.add(x1, x2)` in a
    Functional graph): replayed with `apply`."""

    def __init__(self, tensor):
        self.tensor = tensor
        self.layer = tensor.op
        self.input_tensors = [x for x in tensor.inputs if isinstance(x, SymbolicTensor)]
        self.outputs = [tensor]


def _producer(t):
    """The node (a layer Node or an _OpNode) that produced symbolic tensor `t`, or None."""
    history = getattr(t, "_keras_history", None)
    if history is not None:
        layer, node_index, _ = history
        return layer._inbound_nodes[node_index]
    if t.op is not None:
        return _OpNode(t)
    return None


class Functional(Model):
    """A model defined by its input and output symbolic tensors.

    Created by `Model(inputs, outputs)`. Inputs and outputs may be single tensors, lists or dicts;
    the model returns the same structure. Layers called several times (shared layers) and whole
    models used as layers work as in Keras.

    Example:
    >>> import layerkit as lk
    >>> x = lk.layers.Input(shape=(4,))
    >>> y = lk.layers.Dense(2)(lk.layers.Dense(8, activation="relu")(x))
    >>> model = lk.Model(x, y)
    >>> model(lk.ops.ones((3, 4))).shape
    (3, 2)
    """

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self.inputs = tree.flatten(inputs)
        self.outputs = tree.flatten(outputs)
        for i, t in enumerate(self.inputs):
            history = getattr(t, "_keras_history", None)
            if not isinstance(t, SymbolicTensor) or history is None or not isinstance(history[0], InputLayer):
                raise ValueError(f"Model '{self.name}': input {i} must be a tensor returned by lk.layers.Input(), "
                                 f"received {t!r}.")
        for i, t in enumerate(self.outputs):
            if not isinstance(t, SymbolicTensor):
                raise ValueError(f"Model '{self.name}': output {i} must be a symbolic tensor computed from the "
                                 f"model's inputs, received {type(t).__name__}.")
        self._nodes, self._graph_layers = self._map_graph()
        self.built = True
        self.__dict__["_locked"] = True

    def _map_graph(self):
        """(nodes in execution order, layers ordered by depth as Keras orders `model.layers`)."""
        inputs = {id(t) for t in self.inputs}
        order, finished, in_progress, layer_index = [], set(), set(), {}
        op_nodes = {}

        def node_of(t):
            if id(t) in op_nodes:
                return op_nodes[id(t)]
            node = _producer(t)
            if isinstance(node, _OpNode):
                op_nodes[id(t)] = node
            return node

        # iterative depth-first walk from the outputs: a node is finished after its parents
        for out in self.outputs:
            stack = [(out, False)]
            while stack:
                t, expanded = stack.pop()
                node = node_of(t)
                if node is None:
                    raise ValueError(f"Model '{self.name}': an output depends on a symbolic tensor {t!r} that does "
                                     "not come from the model's inputs; pass every Input the graph uses to "
                                     "Model(inputs=...).")
                if id(node) in finished:
                    continue
                if expanded:
                    in_progress.discard(id(node))
                    finished.add(id(node))
                    order.append(node)
                    continue
                if id(node) in in_progress:
                    continue
                if isinstance(node.layer, Layer) and id(node.layer) not in layer_index:
                    layer_index[id(node.layer)] = (len(layer_index), node.layer)
                in_progress.add(id(node))
                stack.append((t, True))
                if id(t) in inputs:
                    continue
                if isinstance(node.layer, InputLayer):
                    raise ValueError(f"Model '{self.name}': the graph uses Input '{node.layer.name}', which is not "
                                     "among the model's inputs.")
                for parent in reversed(node.input_tensors):
                    stack.append((parent, False))
        # Keras's layer order: by depth from the outputs, deepest (inputs) first, ties by discovery
        depth = {}
        for node in reversed(order):
            d = depth.setdefault(id(node), 0)
            for parent_t in node.input_tensors:
                p = node_of(parent_t)
                if p is not None:
                    depth[id(p)] = max(depth.get(id(p), 0), d + 1)
        layer_depth = {}
        for node in order:
            if isinstance(node.layer, Layer):
                layer_depth[id(node.layer)] = max(layer_depth.get(id(node.layer), 0), depth[id(node)])
        deepest = max(layer_depth.values(), default=0)
        for t in self.inputs:  # an input nothing consumes still belongs to the model, first
            layer = t._keras_history[0]
            if id(layer) not in layer_depth:
                layer_index[id(layer)] = (len(layer_index), layer)
                layer_depth[id(layer)] = deepest + 1
        layers = sorted((lay for _, lay in layer_index.values()),
                        key=lambda lay: (-layer_depth.get(id(lay), 0), layer_index[id(lay)][0]))
        return order, layers

    @property
    def _layers(self):
        return list(self.__dict__.get("_graph_layers", []))

    @property
    def layers(self):
        return self._layers

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def _flat_call_inputs(self, inputs):
        if isinstance(inputs, dict) and not isinstance(self._inputs_struct, dict):
            names = [t._keras_history[0].name for t in self.inputs]
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(f"Model '{self.name}' expects inputs named {names}; missing {missing}.")
            return [inputs[n] for n in names]
        flat = tree.flatten(inputs)
        if len(flat) != len(self.inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} input(s), but received {len(flat)}.")
        return flat

    def call(self, inputs, training=None, mask=None):
        flat = self._flat_call_inputs(inputs)
        values = {}
        for t, x in zip(self.inputs, flat):
            x = convert_to_tensor(x) if not isinstance(x, (Tensor, SymbolicTensor)) else x
            # the batch axis (0) may differ from the declared one, as in Keras
            if len(x.shape) != len(t.shape) or any(a is not None and b is not None and a != b
                                                   for a, b in zip(t.shape[1:], x.shape[1:])):
                raise ValueError(f"Model '{self.name}': input '{t._keras_history[0].name}' expects shape "
                                 f"{t.shape}, but received an input of shape {tuple(x.shape)}.")
            values[id(t)] = x
        if mask is not None:
            for t, m in zip(self.inputs, tree.flatten(mask)):
                if m is not None:
                    values[id(t)]._keras_mask = m

        def value(x):
            return values[id(x)] if isinstance(x, SymbolicTensor) else x

        for node in self._nodes:
            if isinstance(node.layer, InputLayer):
                continue
            if isinstance(node, _OpNode):
                out = apply(node.layer, *[value(x) for x in node.tensor.inputs], **node.tensor.attrs)
                values[id(node.tensor)] = out
                continue
            args = tree.map_structure(value, node.call_args)
            kwargs = tree.map_structure(value, node.call_kwargs)
            if training is not None and "training" not in kwargs:
                kwargs["training"] = training
            outs = tree.flatten(node.layer(*args, **kwargs))
            for t, o in zip(node.outputs, outs):
                values[id(t)] = o
        return tree.pack_sequence_as(self._outputs_struct, [values[id(t)] for t in self.outputs])

    def compute_output_spec(self, inputs, training=None, mask=None):
        return self.call(inputs, training=training, mask=mask)

    def build(self, input_shape=None):
        pass  # a Functional model is built when it is created
