"""Merging layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot, and their
functional forms (`add([x, y])`, ...), with Keras's names. The `Merge` base class is importable from
here (`layerkit.layers.merging.Merge`) but, as in Keras, not exported to `layerkit.layers`."""
from layerkit.layers.merging.add import Add, add
from layerkit.layers.merging.average import Average, average
from layerkit.layers.merging.base_merge import Merge  # noqa: F401  (public here, not in layerkit.layers)
from layerkit.layers.merging.concatenate import Concatenate, concatenate
from layerkit.layers.merging.dot import Dot, dot
from layerkit.layers.merging.maximum import Maximum, maximum
from layerkit.layers.merging.minimum import Minimum, minimum
from layerkit.layers.merging.multiply import Multiply, multiply
from layerkit.layers.merging.subtract import Subtract, subtract

__all__ = ["Add", "Average", "Concatenate", "Dot", "Maximum", "Minimum", "Multiply", "Subtract", "add",
           "average", "concatenate", "dot", "maximum", "minimum", "multiply", "subtract"]
