"""plot_model draws real files with Graphviz, and explains how to install what is missing."""
import shutil

import numpy as np
import pytest

import layerkit as lk
from layerkit import layers, ops

needs_graphviz = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")


def _model():
    a, b = layers.Input(shape=(4,), name="a"), layers.Input(shape=(4,), name="b")
    h = layers.Dense(8, activation="relu", name="hidden")(a)
    return lk.Model([a, b], layers.Dense(2, name="head")(ops.add(h[:, :4], b)))


@needs_graphviz
@pytest.mark.parametrize("ext,magic", [("png", b"\x89PNG"), ("svg", b"<?xml")])
def test_plot_model_writes_png_and_svg(tmp_path, ext, magic):
    pytest.importorskip("pydot")
    path = tmp_path / f"model.{ext}"
    lk.utils.plot_model(_model(), to_file=str(path), show_shapes=True)
    data = path.read_bytes()
    assert data.startswith(magic) and len(data) > 200
    if ext == "svg":
        text = data.decode()
        assert "hidden (Dense)" in text and "(None, 8)" in text


def test_dot_graph_has_a_node_per_layer_and_edges_through_ops():
    pytest.importorskip("pydot")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed")
    dot = lk.utils.model_to_dot(_model())
    labels = [n.get_label() for n in dot.get_nodes() if n.get_name() not in ("node", "edge", "graph")]
    assert len(labels) == 4
    assert len(dot.get_edges()) == 3  # a->hidden, hidden->head (through slicing and add), b->head


def test_missing_graphviz_is_explained(monkeypatch):
    pytest.importorskip("pydot")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(OSError, match="apt-get install graphviz"):
        lk.utils.plot_model(_model(), to_file="never.png")


def test_unbuilt_sequential_is_explained():
    pytest.importorskip("pydot")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed")
    with pytest.raises(ValueError, match="no graph yet"):
        lk.utils.plot_model(lk.Sequential([layers.Dense(2)]), to_file="never.png")
    model = lk.Sequential([layers.Dense(2)])
    model(np.ones((1, 3), "float32"))
    assert lk.utils.model_to_dot(model) is not None
