"""plot_model: draw a model's graph of layers with pydot and Graphviz's `dot` program."""
import os
import shutil

_INSTALL = ("plot_model needs the `pydot` package and Graphviz's `dot` program: `pip install pydot` (or "
            "`pip install layerkit[plot]`) and install Graphviz with your system's package manager "
            "(e.g. `apt-get install graphviz`, `brew install graphviz`).")


def _check_pydot():
    try:
        import pydot
    except ImportError as e:
        raise ImportError(f"pydot is not installed. {_INSTALL}") from e
    if shutil.which("dot") is None:
        raise OSError(f"Graphviz's `dot` program was not found on the PATH. {_INSTALL}")
    return pydot


def _graph_of(model):
    from layerkit.models.sequential import Sequential

    return model._functional if isinstance(model, Sequential) else model


def _shape_text(tensors):
    def one(s):
        return "(" + ", ".join("None" if d is None else str(d) for d in s) + ("," if len(s) == 1 else "") + ")"
    shapes = [one(tuple(t.shape)) for t in tensors]
    return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"


def _source_layers(t):
    history = getattr(t, "_keras_history", None)
    if history is not None:
        return [history[0]]
    out = []
    for x in getattr(t, "inputs", ()):
        if hasattr(x, "op"):
            out.extend(layer for layer in _source_layers(x) if layer not in out)
    return out


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB", dpi=200,
                 show_layer_activations=False, show_trainable=False):
    """The model's graph as a `pydot.Dot`: one node per layer, one edge per connection."""
    from layerkit.models.functional import Functional

    pydot = _check_pydot()
    graph = _graph_of(model)
    if not isinstance(graph, Functional):
        raise ValueError(f"plot_model: model '{model.name}' has no graph yet (a subclassed model, or a Sequential "
                         "model that is not built); build it with an Input or call it once first.")
    dot = pydot.Dot(graph_type="digraph", rankdir=rankdir, dpi=str(dpi), concentrate="true")
    dot.set_node_defaults(shape="record", fontname="Helvetica")
    for layer in graph.layers:
        label = f"{layer.name} ({type(layer).__name__})" if show_layer_names else type(layer).__name__
        act = getattr(layer, "activation", None)
        if show_layer_activations and callable(act):
            label += f"\\nactivation: {getattr(act, '__name__', act)}"
        if show_trainable:
            label += f"\\ntrainable: {layer.trainable}"
        nodes = [n for n in layer._inbound_nodes if any(n is m for m in graph._nodes)]
        if show_shapes and nodes:
            ins = [t for n in nodes for t in n.input_tensors]
            outs = nodes[0].outputs
            in_text = _shape_text(ins) if ins else "-"
            label = f"{{{label}|{{input: {in_text}|output: {_shape_text(outs)}}}}}"
            label = label.replace("[", "\\[").replace("]", "\\]")
        if show_dtype and nodes:
            label += f"\\ndtype: {nodes[0].outputs[0].dtype}"
        dot.add_node(pydot.Node(str(id(layer)), label=label))
    seen = set()
    for layer in graph.layers:
        for node in layer._inbound_nodes:
            if not any(node is m for m in graph._nodes):
                continue
            for t in node.input_tensors:
                for src in _source_layers(t):
                    edge = (id(src), id(layer))
                    if edge not in seen:
                        seen.add(edge)
                        dot.add_edge(pydot.Edge(str(id(src)), str(id(layer))))
    return dot


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=True,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False):
    """Draws `model` to `to_file` (.png, .svg, .pdf or .dot, by extension), as
    `keras.utils.plot_model` does. Nested models are drawn as one node.

    Raises ImportError/OSError with install instructions when pydot or Graphviz is missing.
    """
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                       rankdir=rankdir, dpi=dpi, show_layer_activations=show_layer_activations,
                       show_trainable=show_trainable)
    ext = os.path.splitext(to_file)[1].lstrip(".").lower() or "png"
    if ext not in ("png", "svg", "pdf", "dot", "jpg", "jpeg"):
        raise ValueError(f"plot_model: unsupported file type {ext!r}; use .png, .svg, .pdf or .dot.")
    if ext == "dot":
        dot.write_raw(to_file)
    else:
        dot.write(to_file, format=ext)
    return to_file

