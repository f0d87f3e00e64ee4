"""Node: one call of a layer on symbolic tensors — the edge list of a Functional model."""
from layerkit.ops import SymbolicTensor
from layerkit.utils import tree


class Node:
    """Records `layer(*call_args, **call_kwargs) -> outputs` on symbolic tensors.

    Every output tensor gets `_keras_history = (layer, node_index, tensor_index)`, which is how a
    Functional model walks from its outputs back to its inputs.
    """

    def __init__(self, layer, call_args, call_kwargs, outputs):
        self.layer = layer
        self.call_args = call_args
        self.call_kwargs = call_kwargs
        self.outputs = tree.flatten(outputs)
        self.input_tensors = [x for x in tree.flatten((call_args, call_kwargs)) if isinstance(x, SymbolicTensor)]

    @property
    def parent_nodes(self):
        return [t._keras_history[0]._inbound_nodes[t._keras_history[1]]
                for t in self.input_tensors if getattr(t, "_keras_history", None) is not None]

    @classmethod
    def record(cls, layer, call_args, call_kwargs, outputs):
        """Fresh symbolic outputs (a layer may return its input object itself) linked to a new
        node of `layer`; returns them in the structure of `outputs`."""
        fresh = []
        for o in tree.flatten(outputs):
            if not isinstance(o, SymbolicTensor):
                raise TypeError(f"Layer '{layer.name}' returned {type(o).__name__} from a symbolic call; call() must "
                                "return the tensors it computes with layerkit ops.")
            t = SymbolicTensor(o.shape, o.dtype)
            mask = getattr(o, "_keras_mask", None)
            if mask is not None:
                t._keras_mask = mask
            fresh.append(t)
        outputs = tree.pack_sequence_as(outputs, fresh)
        node = cls(layer, call_args, call_kwargs, outputs)
        index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(node)
        for i, t in enumerate(fresh):
            t._keras_history = (layer, index, i)
        return outputs

    def __repr__(self):
        return f"<Node of {self.layer.name}: {len(self.input_tensors)} inputs -> {len(self.outputs)} outputs>"
