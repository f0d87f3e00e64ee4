"""The README's code runs: its layer examples pass run_layer_test."""
import pathlib
import re

import numpy as np

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def _blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in _blocks():
        if "plot_model" in block:
            block = block.replace('lk.utils.plot_model(functional, "model.png", show_shapes=True)', "")
        exec(compile(block, str(README), "exec"), namespace)
    layers = namespace["layers"]
    for name, shape in [("MLPBlock", (2, 5)), ("Linear", (2, 3)), ("BiasedSelfAttention", (2, 4, 6))]:
        out = namespace[name]()(np.ones(shape, "float32"))
        assert out.shape[0] == shape[0]
    assert isinstance(namespace["model"], namespace["lk"].Sequential)
    assert issubclass(namespace["Classifier"], layers.Layer)
