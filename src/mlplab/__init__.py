"""mlplab: multilayer perceptrons with hand-derived backpropagation.

    from mlplab import MLP
    net = MLP([2, 10, 2], activation="tanh", output="softmax", loss="cross_entropy", seed=0)
    loss, grads = net.loss_and_grad(X, y)
"""

__version__ = "0.1.0"

from mlplab.estimators import MLPClassifier, MLPRegressor
from mlplab.network import MLP

__all__ = ["MLP", "MLPClassifier", "MLPRegressor", "__version__"]
