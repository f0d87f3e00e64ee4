"""Every docstring example in layerkit runs and prints what it says."""
import doctest
import importlib
import pkgutil

import pytest

import layerkit


def _modules():
    names = []
    for info in pkgutil.walk_packages(layerkit.__path__, "layerkit."):
        if "._core" not in info.name:
            names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
