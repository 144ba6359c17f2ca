"""Sessions: one per page, each with its own network, trainer and worker thread; a store that bounds them.

Threads and locks. Only a session's worker thread trains its network (``Trainer.fit`` one epoch at a time);
a reset swaps in a new run while holding ``train_lock``, which the worker holds for each epoch. After every
epoch the worker copies the weights into a ``Snapshot`` and publishes it under ``lock``; everything the page
sees (frames, the example view, the gradient check, the exported model) is computed from a snapshot, never from
the live parameters. Sessions share nothing mutable, so one tab cannot change another's numbers.
"""

from __future__ import annotations

import contextlib
import math
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mlplab.errors import ConfigError, DataError, MlplabError, TrainingDiverged
from mlplab.network import MLP
from mlplab.playground import settings as ps
from mlplab.playground import views
from mlplab.runner import Prepared, RunConfig, RunResult, build, prepare, scores_on_test
from mlplab.train import EpochRecord, Trainer

MAX_EPOCHS = 50_000  # a run pauses there (the history stays small)
MAX_UPLOAD_BYTES = 5 * 2**20
MAX_UPLOAD_ROWS = 20_000
MAX_UPLOAD_FEATURES = 1_000
MAX_CLASSES = 50
MAX_EARLIER_RUNS = 6
REGRESSION_REFUSED = ("labels with decimals make a regression task; the playground trains classifiers "
                      "(use integer or text labels)")
DEFAULT_SPEED = 20.0  # epochs per second while playing; 0 means as fast as the machine goes
MAX_SPEED = 1000.0


class FairLock:
    """A lock granted in the order it was asked for, so a session training flat out cannot starve the others."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = self._serving = 0

    def __enter__(self) -> None:
        with self._cond:
            ticket = self._next
            self._next += 1
            while ticket != self._serving:
                self._cond.wait()

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._serving += 1
            self._cond.notify_all()


# The BLAS thread count is process-wide (threadpoolctl) and OpenBLAS results change in the last bits with it, so
# epochs of different sessions take turns: each runs with exactly the threads `mlplab train` would use, and one
# session's limit is never lifted under another's feet. (Frames only read snapshots and may run meanwhile.)
EPOCH_TURNS = FairLock()


class UnknownSession(MlplabError):
    """A session id the server does not hold (never created, closed, or expired)."""


class TooManySessions(MlplabError):
    """Every session slot is taken by an open page."""


@dataclass(frozen=True)
class Snapshot:
    """The weights and scores after ``epoch`` epochs of run ``gen``; never written after publishing."""

    gen: int
    epoch: int
    params: dict[str, np.ndarray]
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float


@dataclass
class Run:
    """The live objects of one run. The network and trainer belong to the worker thread."""

    settings: ps.Settings
    config: RunConfig
    prepared: Prepared
    net: MLP
    trainer: Trainer
    viewer: MLP  # an inference-only copy of the architecture, loaded with snapshots for frames
    history: list[dict] = field(default_factory=list)

    @property
    def class_names(self) -> list[str]:
        ds = self.prepared.dataset
        return list(ds.class_names) if ds.class_names else [str(k) for k in range(ds.n_outputs)]

    @property
    def plane(self) -> list[float] | None:
        """The drawn square of the input plane for 2-D data (raw coordinates), else None."""
        X = self.prepared.dataset.X
        return views.extent(X) if X.shape[1] == 2 else None

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Standardised rows back in the data's own units."""
        sc = self.prepared.scaler
        return X.astype(np.float64) * sc.std + sc.mean


def _scores(net: MLP, prepared: Prepared) -> tuple[float, float, float, float]:
    """(train loss, train accuracy, test loss, test accuracy) of ``net``, each a full pass."""
    s = prepared.splits
    train_loss, train_acc = net.evaluate(s.X_train, s.y_train)
    return train_loss, train_acc, *scores_on_test(net, s)


def new_run(settings: ps.Settings, data_path: str | None) -> Run:
    """Data, network and trainer for ``settings``, built by the runner exactly as ``mlplab train`` builds them."""
    config = settings.run_config(data_path, epochs=0)
    prepared = prepare(config)
    ds = prepared.dataset
    if ds.task != "classification":
        raise DataError(REGRESSION_REFUSED)
    if ds.n_outputs > MAX_CLASSES:
        raise DataError(f"upload: {ds.n_outputs} classes; the playground draws at most {MAX_CLASSES}")
    net, trainer = build(config, prepared.splits.X_train.shape[1], ds.n_outputs)
    trainer.on_nonfinite = "raise"
    viewer = MLP(**net.config())
    return Run(settings, config, prepared, net, trainer, viewer)


def _first_snapshot(gen: int, run: Run) -> Snapshot:
    """Epoch 0 of a run that no worker trains yet, so reading its weights is safe."""
    return Snapshot(gen, 0, run.net.get_params(), *_scores(run.net, run.prepared))


class Session:
    """One page's run: settings, the run's objects, the published snapshot, and the worker that trains."""

    def __init__(self, sid: str, settings: ps.Settings, workdir: Path) -> None:
        self.id, self.workdir = sid, workdir
        self.lock = threading.Condition()  # guards the fields below and the published snapshot
        self.train_lock = threading.Lock()  # held while the network is trained or replaced
        self.frame_lock = threading.Lock()  # serialises use of the run's viewer network
        self.data_path: str | None = None  # the uploaded CSV, in workdir
        self.data_name: str | None = None  # its name as the user knows it
        self.run = new_run(settings, None)
        self.gen = 0  # bumped whenever a new run replaces the old one
        self._training_gen = 0  # the run the worker is training (set by the worker)
        self.snapshot = _first_snapshot(0, self.run)
        self.running = False
        self.pending_steps = 0
        self.busy = False
        self.closed = False
        self.error: dict | None = None  # {"field", "message"} shown next to a control
        self.speed = DEFAULT_SPEED
        self.show_gradients = False
        self.version = 0  # bumped on every change the page should see
        self.data_version = 0
        self.earlier: list[dict] = []  # earlier runs' curves
        self.listeners = 0
        self.ever_listened = False
        self.last_seen = self.last_action = time.monotonic()
        self.thread: threading.Thread | None = None
        self.frame_cache: tuple | None = None

    # -------------------------------------------------------------------------------- snapshots
    def on_epoch_end(self, trainer: Trainer, record: EpochRecord) -> None:
        """Trainer callback, in the worker thread between epochs: score, copy the weights, publish."""
        run = self.run
        scores = _scores(run.net, run.prepared)
        snap = Snapshot(self._training_gen, record.epoch, run.net.get_params(), *scores)
        entry = {"epoch": record.epoch, "train_loss": scores[0], "train_accuracy": scores[1],
                 "test_loss": scores[2], "test_accuracy": scores[3]}
        with self.lock:
            if snap.gen != self.gen:
                return
            run.history.append(entry)
            self.snapshot = snap
            self.version += 1
            self.lock.notify_all()

    # ----------------------------------------------------------------------------------- worker
    def _ensure_worker(self) -> None:
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._work, name=f"playground-{self.id[:6]}", daemon=True)
            self.thread.start()

    def _work(self) -> None:
        while True:
            with self.lock:
                while not self.closed and not (self.running or self.pending_steps):
                    self.lock.wait()
                if self.closed:
                    return
                gen, stepping = self.gen, not self.running
                self.busy = True
            t0 = time.monotonic()
            try:
                with self.train_lock, EPOCH_TURNS:
                    if gen == self.gen and not self.closed:
                        self._train_one_epoch(gen)
            finally:
                with self.lock:
                    self.busy = False
                    if stepping and gen == self.gen and self.pending_steps:
                        self.pending_steps -= 1
                    self.lock.notify_all()
            self._throttle(t0)

    def _train_one_epoch(self, gen: int) -> None:
        run = self.run
        trainer, s = run.trainer, run.prepared.splits
        epoch = trainer.state.epoch
        if epoch >= MAX_EPOCHS:
            self._stop_with({"field": "play", "message": f"reached the playground's limit of {MAX_EPOCHS} epochs"})
            return
        trainer.epochs = epoch + 1  # fit() trains up to `epochs`: one more epoch, as `mlplab train` would
        self._training_gen = gen
        if not trainer.callbacks:
            trainer.callbacks.append(self)
        try:
            trainer.fit(s.X_train, s.y_train, s.X_val, s.y_val)
        except TrainingDiverged:
            lr = run.settings.lr
            self._stop_with({"field": "learning-rate",
                             "message": f"diverged at epoch {epoch + 1} with learning rate {lr:g}: lower it"})
        except MlplabError as e:
            self._stop_with({"field": "play", "message": " ".join(str(e).split())})

    def _stop_with(self, error: dict) -> None:
        with self.lock:
            self.running, self.pending_steps = False, 0
            self.error = error
            self.version += 1
            self.lock.notify_all()

    def _throttle(self, t0: float) -> None:
        """While playing, wait out the rest of 1/speed seconds (woken early by pause, step, reset or close)."""
        with self.lock:
            if self.speed <= 0:
                return
            deadline = t0 + 1.0 / self.speed
            while self.running and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self.lock.wait(left)

    # ---------------------------------------------------------------------------------- controls
    def _check_can_train(self) -> None:
        if self.error is not None and self.error["field"] in ("learning-rate", "play"):
            raise ConfigError(self.error["message"] + "; press Reset or change a setting")

    def play(self) -> None:
        with self.lock:
            self._check_can_train()
            self.running = True
            self.version += 1
            self._ensure_worker()
            self.lock.notify_all()

    def pause(self) -> None:
        with self.lock:
            self.running = False
            self.version += 1
            self.lock.notify_all()

    def step(self, timeout: float = 600.0) -> None:
        """Pause, then train exactly one more epoch; returns when it is done (the first epoch on a machine may
        wait for numba to compile the kernels)."""
        with self.lock:
            self._check_can_train()
            self.running = False
            self.pending_steps += 1
            self.version += 1
            self._ensure_worker()
            self.lock.notify_all()
            deadline = time.monotonic() + timeout
            while (self.pending_steps or self.busy) and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ConfigError("step: the epoch is still running (the machine is busy); try again")
                self.lock.wait(left)

    def set_view(self, speed: float | None = None, gradients: bool | None = None) -> None:
        """Page-only choices that do not change the run: epochs per second, and weights or gradients on edges."""
        with self.lock:
            if speed is not None:
                self.speed = float(speed)
            if gradients is not None:
                self.show_gradients = bool(gradients)
            self.version += 1
            self.lock.notify_all()

    def reset(self, settings: ps.Settings | None = None, data: tuple[str, str] | None = None) -> None:
        """Start over (with new settings or data if given); the old run's curves join the earlier runs.

        The new run is built first, so settings that cannot make a run leave the current one untouched.
        """
        with self.lock:
            current = self.run.settings
        settings = settings or current
        data_path, data_name = data if data is not None else (self.data_path, self.data_name)
        run = new_run(settings, data_path)
        with self.lock:
            self.running, self.pending_steps = False, 0
            self.gen += 1
            self.lock.notify_all()
        with self.train_lock, self.lock:
            old = self.run
            if old.history:
                self.earlier.append(self._curve(old))
                del self.earlier[:-MAX_EARLIER_RUNS]
            self.run = run
            self.data_path, self.data_name = data_path, data_name
            self.snapshot = _first_snapshot(self.gen, run)
            self.error = None
            self.frame_cache = None
            if settings != current or data is not None:
                self.data_version += 1
            self.version += 1
            self.lock.notify_all()

    def _curve(self, run: Run) -> dict:
        st = run.settings
        label = (f"{st.dataset} {','.join(map(str, st.hidden)) or 'linear'} {st.activation} "
                 f"{st.optimizer} lr {st.lr:g} batch {st.batch_size or 'full'}")
        return {"label": label, "epoch": [h["epoch"] for h in run.history],
                "train_loss": [h["train_loss"] for h in run.history],
                "test_loss": [h["test_loss"] for h in run.history]}

    # -------------------------------------------------------------------------------------- data
    def upload(self, filename: str, body: bytes, label_column: str | None) -> None:
        """Check an uploaded CSV and start a run on it; a DataError names the file as the user knows it."""
        name = ps.display_name(filename)
        if len(body) > MAX_UPLOAD_BYTES:
            raise DataError(f"{name}: {len(body)} bytes is over the upload limit of {MAX_UPLOAD_BYTES // 2**20} MB")
        if body.count(b"\n") > MAX_UPLOAD_ROWS + 1:
            raise DataError(f"{name}: more than {MAX_UPLOAD_ROWS} rows; the playground takes at most {MAX_UPLOAD_ROWS}")
        folder = self.workdir / f"upload-{secrets.token_hex(4)}"
        folder.mkdir(parents=True)
        path = folder / name
        path.write_bytes(body)
        with self.lock:
            base = self.run.settings
        try:
            settings = ps.with_(base, dataset=ps.UPLOAD, label_column=label_column)
            self._check_upload(path, name, settings)
            self.reset(settings, data=(str(path), name))
        except MlplabError as e:
            shutil.rmtree(folder, ignore_errors=True)
            raise type(e)(" ".join(str(e).replace(str(path), name).split())) from None

    @staticmethod
    def _check_upload(path: Path, name: str, settings: ps.Settings) -> None:
        from mlplab.data import load_dataset

        ds = load_dataset(str(path), label_column=settings.label_column)
        if ds.task != "classification":
            raise DataError(REGRESSION_REFUSED)
        if len(ds.y) > MAX_UPLOAD_ROWS:
            raise DataError(f"{name}: {len(ds.y)} rows; the playground takes at most {MAX_UPLOAD_ROWS}")
        if ds.n_features > MAX_UPLOAD_FEATURES:
            raise DataError(f"{name}: {ds.n_features} features; the playground takes at most {MAX_UPLOAD_FEATURES}")

    # ------------------------------------------------------------------------------------ pictures
    def pictures(self) -> dict:
        """Boundary, unit heatmaps, diagram and confusion matrices for the latest snapshot (cached per epoch)."""
        with self.lock:
            snap, run, grads_on = self.snapshot, self.run, self.show_gradients
        key = (snap.gen, snap.epoch, grads_on)
        cached = self.frame_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        s, k = run.prepared.splits, len(run.class_names)
        with self.frame_lock:
            net = run.viewer
            net.set_params(snap.params)
            plane = run.plane
            grads = net.loss_and_grad(s.X_train, s.y_train)[1] if grads_on else None
            out = {
                "gen": snap.gen, "epoch": snap.epoch, "class_names": run.class_names,
                "boundary": views.boundary(net, run.prepared.scaler, plane) if plane else None,
                "neurons": views.neuron_maps(net, run.prepared.scaler, plane) if plane else [],
                "network": views.diagram(net, grads),
                "confusion": {"train": views.confusion(net, s.X_train, s.y_train, k),
                              "test": views.confusion(net, s.X_test, s.y_test, k)},
            }
        with self.lock:
            if self.snapshot is snap:
                self.frame_cache = (key, out)
        return out

    def history_since(self, gen: int, n: int) -> tuple[int, list[dict], bool]:
        """(run generation, history entries after the first n of run ``gen``, whether the run changed)."""
        with self.lock:
            run, cur = self.run, self.gen
            if cur != gen:
                return cur, [_jsonable(h) for h in run.history], True
            return cur, [_jsonable(h) for h in run.history[n:]], False

    def earlier_runs(self) -> list[dict]:
        with self.lock:
            return [{k: (_jsonable_list(v) if isinstance(v, list) else v) for k, v in r.items()} for r in self.earlier]

    def points(self) -> dict:
        """The data the page draws: raw 2-D points of each split with labels, or just counts for wider data."""
        with self.lock:
            run = self.run
        s = run.prepared.splits
        out = {"n_features": int(s.X_train.shape[1]), "class_names": run.class_names, "extent": run.plane,
               "n_train": len(s.y_train), "n_test": len(s.y_test), "data_name": self.data_name}
        if run.plane is not None:
            out["train"] = [[round(a, 4), round(b, 4), int(c)] for (a, b), c in zip(run.raw(s.X_train).tolist(),
                                                                                  s.y_train.tolist(), strict=True)]
            out["test"] = [[round(a, 4), round(b, 4), int(c)] for (a, b), c in zip(run.raw(s.X_test).tolist(),
                                                                                 s.y_test.tolist(), strict=True)]
        return out

    def example(self, split: str, index: int) -> dict:
        """One example's forward and backward pass for the current snapshot."""
        with self.lock:
            snap, run = self.snapshot, self.run
        s = run.prepared.splits
        X, y = (s.X_train, s.y_train) if split == "train" else (s.X_test, s.y_test)
        if split not in ("train", "test"):
            raise ConfigError(f"example: split must be train or test; got {split!r}")
        if not 0 <= index < len(y):
            raise ConfigError(f"example: index {index} is out of range 0..{len(y) - 1} of the {split} split")
        with self.frame_lock:
            run.viewer.set_params(snap.params)
            out = views.example(run.viewer, X[index], run.raw(X[index : index + 1])[0], int(y[index]),
                                run.class_names)
        return {"split": split, "index": index, "epoch": snap.epoch, **out}

    def gradient_check(self) -> dict:
        """Finite differences against backprop on a float64 copy of the snapshot's weights."""
        with self.lock:
            snap, run = self.snapshot, self.run
        s = run.prepared.splits
        out = views.gradient_check(run.viewer, snap.params, s.X_train, s.y_train)
        return {"epoch": snap.epoch, **out}

    def export_model(self, path: Path) -> None:
        """The snapshot's network as a model file that ``mlplab predict`` / ``mlplab evaluate`` load.

        Saved by ``runner.save_run_model`` as ``mlplab train --save`` saves, with the run's config (its epochs
        set to the snapshot's, and an uploaded file named as the user knows it).
        """
        from mlplab.runner import save_run_model

        with self.lock:
            snap, run, name = self.snapshot, self.run, self.data_name
        net = MLP(**run.viewer.config())
        net.set_params(snap.params)
        config = run.config.with_(epochs=max(snap.epoch, 1))
        if name is not None:
            config = config.with_(dataset=name)  # the file as the user has it, beside the model
        result = RunResult(config, net, run.trainer, run.prepared, snap.test_loss, snap.test_accuracy)
        save_run_model(result, path)

    def command(self) -> dict:
        with self.lock:
            snap, run, name = self.snapshot, self.run, self.data_name
        if snap.epoch < 1:
            raise ConfigError("command: train at least one epoch first (Step or Play)")
        return {"command": ps.train_command(run.config, snap.epoch, data_name=name), "epoch": snap.epoch,
                "data_name": name}

    def data_csv(self) -> tuple[str, bytes]:
        """(file name, bytes): the uploaded file as it was, or a toy set as x1,x2,label rows (label = class index)."""
        with self.lock:
            run, path, name = self.run, self.data_path, self.data_name
        if path is not None:
            return name or "data.csv", Path(path).read_bytes()
        ds = run.prepared.dataset
        lines = ["x1,x2,label"] + [f"{a!r},{b!r},{int(c)}" for (a, b), c in zip(ds.X.tolist(), ds.y.tolist(),
                                                                             strict=True)]
        return f"{ds.name}.csv", ("\n".join(lines) + "\n").encode()

    # --------------------------------------------------------------------------------------- state
    def touch(self, action: bool = True) -> None:
        now = time.monotonic()
        self.last_seen = now
        if action:
            self.last_action = now

    def attach(self) -> None:
        with self.lock:
            self.listeners += 1
            self.ever_listened = True
        self.touch(action=False)

    def detach(self) -> None:
        """A page's stream ended: with no page left watching, training stops."""
        with self.lock:
            self.listeners -= 1
            if self.listeners <= 0:
                self.running = False
                self.lock.notify_all()
        self.touch(action=False)

    def state(self) -> dict:
        """What the page shows besides the pictures: epoch, scores, status, error, settings."""
        with self.lock:
            snap, run = self.snapshot, self.run
            status = "running" if self.running else ("stopped" if self.error and self.error["field"] in
                                                     ("learning-rate", "play") else "paused")
            return {
                "session": self.id, "version": self.version, "epoch": snap.epoch, "running": self.running,
                "status": status, "error": self.error, "speed": self.speed, "gradients": self.show_gradients,
                "train_loss": _num(snap.train_loss), "train_accuracy": _num(snap.train_accuracy),
                "test_loss": _num(snap.test_loss), "test_accuracy": _num(snap.test_accuracy),
                "settings": run.settings.as_json(), "data_version": self.data_version,
                "data_name": self.data_name, "sizes": run.net.sizes,
            }

    def close(self) -> None:
        """Stop training and let go of everything this session holds."""
        with self.lock:
            self.closed, self.running, self.pending_steps = True, False, 0
            self.lock.notify_all()
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        with self.lock:
            self.frame_cache = None
            self.earlier = []
        shutil.rmtree(self.workdir, ignore_errors=True)


def _num(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _jsonable(entry: dict) -> dict:
    return {k: (_num(v) if isinstance(v, float) else v) for k, v in entry.items()}


def _jsonable_list(values: list) -> list:
    return [_num(v) if isinstance(v, float) else v for v in values]


class SessionStore:
    """All sessions of one server, bounded in number; idle and abandoned ones are freed by ``reap``.

    A session is freed when its page closes it, when its last stream ended ``grace`` seconds ago, when it was
    created but nobody touched it for ``idle_timeout`` seconds, or when its page took no action (any request
    but the stream) for ``idle_timeout`` seconds. When all ``max_sessions`` are taken, the least recently seen
    session without an open stream makes room; if every one has a page open, creating another fails.
    """

    def __init__(self, max_sessions: int = 16, idle_timeout: float = 1800.0, grace: float = 10.0,
                 root: str | Path | None = None) -> None:
        self.max_sessions, self.idle_timeout, self.grace = max_sessions, idle_timeout, grace
        self.root = Path(tempfile.mkdtemp(prefix="mlplab-playground-", dir=root))
        self.sessions: dict[str, Session] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def create(self, settings: ps.Settings | None = None) -> Session:
        self.reap()
        with self.lock:
            if len(self.sessions) >= self.max_sessions:
                quiet = [s for s in self.sessions.values() if s.listeners <= 0]
                if not quiet:
                    raise TooManySessions(f"too many open playground pages ({self.max_sessions}); close one")
                victim = min(quiet, key=lambda s: s.last_seen)
                del self.sessions[victim.id]
            else:
                victim = None
        if victim is not None:
            victim.close()
        sid = secrets.token_urlsafe(12)
        workdir = self.root / sid
        workdir.mkdir()
        try:
            session = Session(sid, settings or ps.Settings(), workdir)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        with self.lock:
            self.sessions[sid] = session
        return session

    def get(self, sid: str, action: bool = True) -> Session:
        with self.lock:
            session = self.sessions.get(sid)
        if session is None:
            raise UnknownSession(f"unknown session {sid[:40]!r} (closed or expired): reload the page")
        session.touch(action)
        return session

    def close(self, sid: str) -> bool:
        with self.lock:
            session = self.sessions.pop(sid, None)
        if session is None:
            return False
        session.close()
        return True

    def expired(self, now: float | None = None) -> list[str]:
        now = time.monotonic() if now is None else now
        out = []
        with self.lock:
            for sid, s in self.sessions.items():
                abandoned = s.listeners <= 0 and now - s.last_seen > (self.grace if s.ever_listened
                                                                       else self.idle_timeout)
                if abandoned or now - s.last_action > self.idle_timeout:
                    out.append(sid)
        return out

    def reap(self, now: float | None = None) -> int:
        """Free every expired session; returns how many."""
        gone = self.expired(now)
        for sid in gone:
            self.close(sid)
        return len(gone)

    def close_all(self) -> None:
        self.stopping.set()
        with self.lock:
            ids = list(self.sessions)
        for sid in ids:
            self.close(sid)
        with contextlib.suppress(OSError):
            shutil.rmtree(self.root)
