"""Model.summary(): Keras's table of layers, output shapes and parameter counts."""
import numpy as np

from layerkit.layers.core.input_layer import InputLayer


def _count(weights):
    return int(sum(int(np.prod(w.shape)) for w in weights))


def _bytes(weights):
    return int(sum(int(np.prod(w.shape)) * np.dtype(w.dtype).itemsize for w in weights))


def _human(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}"
        n /= 1024


def _shape_text(tensors):
    shapes = [tuple(t.shape) for t in tensors]
    text = [("(" + ", ".join("None" if d is None else str(d) for d in s) + ("," if len(s) == 1 else "") + ")")
            for s in shapes]
    return text[0] if len(text) == 1 else "[" + ", ".join(text) + "]"


def _sources(t):
    """`layer[node][tensor]` of the layer outputs `t` comes from (through ops between layers)."""
    history = getattr(t, "_keras_history", None)
    if history is not None:
        src, index, tensor_index = history
        return [f"{src.name}[{index}][{tensor_index}]"]
    found = []
    for x in getattr(t, "inputs", ()):
        if hasattr(x, "op"):
            found.extend(s for s in _sources(x) if s not in found)
    return found


def _rows(model):
    """(name (type), output shape, params, connected-to) per layer, in `layers` order."""
    from layerkit.models.functional import Functional
    from layerkit.models.sequential import Sequential

    graph = model._functional if isinstance(model, Sequential) else model
    functional = isinstance(graph, Functional)
    layers = graph.layers if functional else model.layers
    if isinstance(model, Sequential):
        layers = [layer for layer in layers if not isinstance(layer, InputLayer)]
    rows = []
    for layer in layers:
        shape = "?"
        connected = []
        nodes = [n for n in layer._inbound_nodes if not functional or any(n is m for m in graph._nodes)]
        if nodes:
            shape = _shape_text(nodes[0].outputs)
            for node in nodes:
                for t in node.input_tensors:
                    connected.extend(_sources(t))
        params = _count(layer.weights) if layer.built else 0
        rows.append((f"{layer.name} ({type(layer).__name__})", shape, f"{params:,}", connected))
    return rows, functional and not isinstance(model, Sequential)


def print_summary(model, line_length=None, positions=None, print_fn=None, show_trainable=False):
    rows, connected = _rows(model)
    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if connected else [])
    line_length = line_length or (110 if connected else 88)
    positions = positions or ([0.3, 0.58, 0.68, 1.0] if connected else [0.45, 0.8, 1.0])
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    widths = [b - a for a, b in zip([0] + positions[:-1], positions)]
    widths = [w - 3 for w in widths]
    out = [f'Model: "{model.name}"']

    def border(left, mid, right, fill):
        return left + mid.join(fill * (w + 2) for w in widths) + right

    def line(cells, bar="│", align_right=(2,)):
        parts = []
        for i, (c, w) in enumerate(zip(cells, widths)):
            c = c if len(c) <= w else c[:w - 1] + "…"
            parts.append(" " + (c.rjust(w) if i in align_right else c.ljust(w)) + " ")
        return bar + bar.join(parts) + bar

    out.append(border("┏", "┳", "┓", "━"))
    out.append(line(headers, "┃", align_right=()))
    out.append(border("┡", "╇", "┩", "━"))
    for i, (name, shape, params, inbound) in enumerate(rows):
        first = inbound[0] if inbound else ("-" if connected else None)
        out.append(line([name, shape, params] + ([first] if connected else [])))
        for more in inbound[1:]:
            out.append(line(["", "", "", more]))
        if i < len(rows) - 1 and connected:
            out.append(border("├", "┼", "┤", "─"))
    out.append(border("└", "┴", "┘", "─"))
    weights = model.weights if model.built else []
    trainable = model.trainable_weights if model.built else []
    non_trainable = model.non_trainable_weights if model.built else []
    out.append(f" Total params: {_count(weights):,} ({_human(_bytes(weights))})")
    out.append(f" Trainable params: {_count(trainable):,} ({_human(_bytes(trainable))})")
    out.append(f" Non-trainable params: {_count(non_trainable):,} ({_human(_bytes(non_trainable))})")
    text = "\n".join(out)
    if print_fn is None:
        print(text)
    else:
        print_fn(text)
