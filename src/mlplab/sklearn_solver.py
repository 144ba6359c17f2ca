"""scikit-learn's MLP solvers on mlplab's engine: its initialisation, its stochastic epochs (sgd, adam) and L-BFGS.

``MLPClassifier``/``MLPRegressor`` (``estimators.py``) train through this module so that the same parameters and
``random_state`` give scikit-learn's fitted model. A stochastic solver owns a ``Trainer`` and runs each epoch as
``Trainer.run_epoch`` on the rows in scikit-learn's order, with scikit-learn's optimizers (``ClassicalSGD``,
``FoldedAdam``, and the engine's ``SGD`` for momentum 0 without L2, the same steps bit for bit; their kernel codes
are in ``registry.SKLEARN_OPTIMIZERS``), so the epochs run in the compiled kernels of ``kernels.py`` whenever they
implement the network's head, and in the NumPy engine otherwise. What differs from the Trainer's own loop
(``Trainer.fit``) stays here:

* the sample order is ``sklearn.utils.shuffle`` of the previous epoch's order, drawn from the legacy ``RandomState``
  that also drew the initial weights and the validation split (the Trainer draws from its own ``Generator``);
* L2 is scikit-learn's α per row (``optim.Optimizer.decay_per_row``): α·W/m added to the gradient of a batch of m
  rows, and ½·α·‖W‖²/m added to its loss for the weights before the step (``Trainer.epoch_penalty``);
* the learning rate changes at epoch end by scikit-learn's rules (samples seen, plateaus), and the optimizer's state
  outlives a ``fit`` call for ``partial_fit``; the epoch counting, stopping and early-stopping bookkeeping is the
  estimator's (scikit-learn's attributes).

The solver's state is its Trainer's: ``Trainer.state_dict`` / ``load_state_dict``, the serialiser checkpoints use.
"""

from __future__ import annotations

import contextlib

import numpy as np
import scipy
import scipy.optimize

from mlplab import kernels
from mlplab.network import MLP
from mlplab.optim import SGD, ClassicalSGD, FoldedAdam, Optimizer
from mlplab.train import Trainer

MIN_ADAPTIVE_LR = 1e-6  # "adaptive" stops instead of dividing the rate once it is this small (scikit-learn's value)


def init_weights(net: MLP, rs: np.random.RandomState, logistic: bool) -> None:
    """scikit-learn's initialisation, into the network: layer by layer W (n_in, n_out) then b (n_out,), both drawn
    from U(−r, r) with r = √(6 / (n_in + n_out)) (√(2 / …) for logistic hidden units), in float64, then cast."""
    factor = 2.0 if logistic else 6.0
    for l, (n_in, n_out) in enumerate(zip(net.sizes[:-1], net.sizes[1:], strict=True), start=1):
        bound = np.sqrt(factor / (n_in + n_out))
        np.copyto(net.params[f"W{l}"], rs.uniform(-bound, bound, (n_in, n_out)), casting="same_kind")
        np.copyto(net.params[f"b{l}"], rs.uniform(-bound, bound, n_out), casting="same_kind")


def l2_norm2(net: MLP) -> float:
    """‖W‖² summed over the weight matrices (biases are not penalised)."""
    return sum(float(np.vdot(net.params[f"W{l}"], net.params[f"W{l}"])) for l in range(1, net.n_layers + 1))


class StochasticSolver:
    """scikit-learn's "sgd" or "adam" solver for one network: its optimizer inside a Trainer, its learning-rate
    rules, one epoch at once.

    loss_scale multiplies the head's batch loss in what ``epoch`` reports: scikit-learn averages its squared error over
    the outputs as well (1 / n_outputs) though its gradient is that of the sum over outputs; 1 for classifiers.
    seed: the Trainer's generator (dropout masks; scikit-learn has no dropout). threads: the Trainer's (cores while
    training; None: automatic from the batch size).
    """

    def __init__(self, net: MLP, solver: str, *, lr: float, alpha: float, momentum: float = 0.9,
                 nesterov: bool = True, lr_schedule: str = "constant", power_t: float = 0.5, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8, loss_scale: float = 1.0, seed: int | None = None,
                 threads: int | None = None) -> None:
        self.net, self.loss_scale = net, float(loss_scale)
        self.lr_init, self.lr_schedule, self.power_t = float(lr), lr_schedule, float(power_t)
        optimizer: Optimizer
        if solver == "adam":
            optimizer = FoldedAdam(net.params, lr, betas=(beta_1, beta_2), eps=epsilon, weight_decay=alpha)
            self.lr_schedule = "constant"  # scikit-learn's learning_rate applies to sgd only
        elif momentum == 0 and alpha == 0:  # v ← 0·v − lr g, p ← p + v is the engine's p ← p − lr g, bit for bit
            optimizer = SGD(net.params, lr)  # and its kernels fuse the step into the product
        else:
            optimizer = ClassicalSGD(net.params, lr, momentum=momentum, nesterov=nesterov, weight_decay=alpha)
        self.trainer = Trainer(net, optimizer, epochs=0, batch_size=None, shuffle=False, seed=seed, threads=threads)

    @property
    def optimizer(self) -> Optimizer:
        return self.trainer.optimizer

    # ----------------------------------------------------------------------------------------------- epochs
    def session(self, n: int, B: int) -> contextlib.AbstractContextManager[None]:
        """Hold the Trainer's resources (BLAS threads, helper thread) for epochs over n rows in batches of B."""
        self.trainer.batch_size = B
        return self.trainer.session(n)

    def epoch(self, X: np.ndarray, Y: np.ndarray, order: np.ndarray | None, B: int) -> float:
        """Train one pass over the rows of X (n, n_x), targets Y (n, n_y), in batches of B taken in ``order`` (None:
        stored order); return scikit-learn's epoch loss Σ_batches (L_b + ½·α·‖W‖²/m_b)·m_b / n. Runs inside
        ``session`` (or alone, at the library's default BLAS threads)."""
        trainer = self.trainer
        trainer.batch_size = B
        loss, _ = trainer.run_epoch(X, Y, None, order=order)
        return self.loss_scale * loss + trainer.epoch_penalty

    # ---------------------------------------------------------------------------------- learning-rate rules
    @property
    def lr(self) -> float:
        return self.optimizer.lr

    def end_epoch(self, samples_seen: int) -> None:
        """invscaling: lr ← lr_init / (t + 1)^power_t, with t the samples trained on so far (scikit-learn's t_)."""
        if self.lr_schedule == "invscaling":
            self.optimizer.lr = self.lr_init / (samples_seen + 1) ** self.power_t

    def plateau(self) -> bool:
        """The loss stopped improving: True to stop; "adaptive" divides the rate by 5 instead while it is > 1e-6."""
        if self.lr_schedule != "adaptive" or self.optimizer.lr <= MIN_ADAPTIVE_LR:
            return True
        self.optimizer.lr /= 5.0
        return False


# ------------------------------------------------------------------------------------------------- L-BFGS
def fit_lbfgs(net: MLP, X: np.ndarray, Y: np.ndarray, *, alpha: float, loss_scale: float, max_iter: int,
              max_fun: int, tol: float, verbose: bool) -> scipy.optimize.OptimizeResult:
    """scikit-learn's "lbfgs" solver: scipy's L-BFGS-B on the full-batch loss L(θ)·loss_scale + ½·α·‖W‖²/n and its
    gradient ∇L + α W/n, with θ packed as scikit-learn packs it (W1, …, WL, then b1, …, bL). Leaves θ* in the network.
    """
    L, n = net.n_layers, X.shape[0]
    keys = [f"W{l}" for l in range(1, L + 1)] + [f"b{l}" for l in range(1, L + 1)]
    bounds = np.cumsum([0] + [net.params[k].size for k in keys])

    def unpack(theta: np.ndarray) -> None:
        for k, a, b in zip(keys, bounds[:-1], bounds[1:], strict=True):
            np.copyto(net.params[k], theta[a:b].reshape(net.params[k].shape), casting="same_kind")

    def loss_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        unpack(theta)
        loss, grads = net.loss_and_grad(X, Y)
        loss *= loss_scale
        if alpha:
            loss += 0.5 * alpha * l2_norm2(net) / n
            for l in range(1, L + 1):
                grads[f"W{l}"] += (alpha / n) * net.params[f"W{l}"]
        return loss, np.concatenate([grads[k].ravel() for k in keys])

    theta0 = np.concatenate([net.params[k].ravel() for k in keys])
    options: dict = {"maxfun": max_fun, "maxiter": max_iter, "gtol": tol}
    if tuple(int(p) for p in scipy.__version__.split(".")[:2]) < (1, 15):  # scipy 1.15 dropped iprint (as sklearn)
        options["iprint"] = 1 if verbose else -1
    with kernels.blas_threads(kernels.blas_threads_for(n)):
        result = scipy.optimize.minimize(loss_and_grad, theta0, method="L-BFGS-B", jac=True, options=options)
    unpack(result.x)
    return result
