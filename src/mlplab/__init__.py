"""mlplab: multilayer perceptrons with hand-derived backpropagation.

    from mlplab import MLP
    net = MLP([2, 10, 2], activation="tanh", output="softmax", loss="cross_entropy", seed=0)
    loss, grads = net.loss_and_grad(X, y)
"""

__version__ = "0.1.0"

from mlplab.network import MLP

__all__ = ["MLP", "MLPClassifier", "MLPRegressor", "__version__", "from_torch", "to_torch"]


def __getattr__(name: str) -> object:
    """The scikit-learn estimators load on first use, so that `import mlplab` does not import scikit-learn."""
    if name in ("MLPClassifier", "MLPRegressor"):
        from mlplab import estimators

        return getattr(estimators, name)
    if name in ("to_torch", "from_torch"):  # torch itself is imported only when one of them is called
        from mlplab.export import torch_nn

        return getattr(torch_nn, name)
    raise AttributeError(f"module 'mlplab' has no attribute {name!r}")
