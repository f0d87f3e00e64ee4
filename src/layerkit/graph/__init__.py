"""Graph mode: lk.function traces a function into a graph of registered primitives, optimizes
it, and runs it as one plan."""
from layerkit.graph.function import ConcreteFunction, Function, TensorSpec, function
from layerkit.graph.ir import Graph
from layerkit.graph import control_flow  # noqa: F401  (registers the loop primitives)

__all__ = ["function", "Function", "ConcreteFunction", "TensorSpec", "Graph"]
