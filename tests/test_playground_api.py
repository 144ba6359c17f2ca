"""The playground's API without a browser: Starlette's TestClient, plus a real uvicorn server for the live stream."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import require


def _needs() -> None:
    try:
        import httpx2  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as e:
        require(False, f"the playground extra and httpx2 are needed: {e}")


_needs()

from safetensors.numpy import load_file  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from mlplab.cli import main as cli_main  # noqa: E402
from mlplab.playground import create_app  # noqa: E402
from mlplab.playground import settings as ps  # noqa: E402
from mlplab.playground.session import MAX_UPLOAD_BYTES, MAX_UPLOAD_ROWS, SessionStore  # noqa: E402


@pytest.fixture
def store(tmp_path):
    s = SessionStore(max_sessions=4, idle_timeout=600, grace=0.3, root=tmp_path)
    yield s
    s.close_all()


@pytest.fixture
def client(store):
    with TestClient(create_app(store)) as c:
        yield c


def new_session(client, **settings) -> str:
    r = client.post("/api/sessions", json={"settings": settings} if settings else {})
    assert r.status_code == 201, r.text
    return r.json()["session"]


def steps(client, sid: str, n: int) -> dict:
    for _ in range(n):
        r = client.post(f"/api/sessions/{sid}/step")
        assert r.status_code == 200, r.text
    return r.json()


# --------------------------------------------------------------------------------------------- settings
@pytest.mark.parametrize(("change", "field", "words"), [
    ({"lr": 0}, "learning-rate", "out of range"),
    ({"lr": "fast"}, "learning-rate", "expected a number"),
    ({"hidden": "8,x"}, "hidden", "integers separated by commas"),
    ({"hidden": "8,8,8,8,8,8,8,8,8"}, "hidden", "at most 8 hidden layers"),
    ({"hidden": "1000"}, "hidden", "1 to 256 units"),
    ({"batch_size": 0}, "batch-size", "out of range"),
    ({"batch_size": "half"}, "batch-size", "expected an integer"),
    ({"activation": "swish"}, "activation", "not one of"),
    ({"n_samples": 10**6}, "n-samples", "out of range"),
    ({"test_fraction": 0.95}, "test-fraction", "out of range"),
    ({"dropout": 1}, "dropout", "out of range"),
    ({"colour": "red"}, "play", "colour: unknown setting"),
    ({"dataset": "upload"}, "dataset", "upload a CSV file first"),
])
def test_settings_out_of_range_answered_400_naming_the_control(client, change, field, words):
    sid = new_session(client)
    r = client.put(f"/api/sessions/{sid}/settings", json=change)
    assert r.status_code == 400
    body = r.json()
    assert body["field"] == field and words in body["error"] and "\n" not in body["error"]
    assert client.get(f"/api/sessions/{sid}").json()["settings"] == ps.Settings().as_json()  # unchanged


def test_valid_settings_start_a_new_run(client):
    sid = new_session(client)
    steps(client, sid, 2)
    r = client.put(f"/api/sessions/{sid}/settings", json={"hidden": "8,8", "activation": "relu",
                                                           "batch_size": "full", "optimizer": "adam", "lr": 0.01})
    st = r.json()
    assert r.status_code == 200 and st["epoch"] == 0 and st["sizes"] == [2, 8, 8, 2]
    assert st["settings"]["batch_size"] == "full" and st["settings"]["hidden"] == "8,8"
    earlier = client.app.state.store.get(sid).earlier_runs()  # the first run's curves, for the overlay
    assert len(earlier) == 1 and earlier[0]["epoch"] == [1, 2] and "tanh" in earlier[0]["label"]


def test_toy_data_exports_as_a_csv_mlplab_reads(client, tmp_path):
    from mlplab.data import load_dataset

    sid = new_session(client, dataset="moons", n_samples=200, noise=0.2, seed=5)
    r = client.get(f"/api/sessions/{sid}/data.csv")
    assert r.status_code == 200 and r.text.startswith("x1,x2,label\n")
    path = tmp_path / "moons.csv"
    path.write_bytes(r.content)
    ds, toy = load_dataset(str(path)), load_dataset("moons", n_samples=200, noise=0.2, seed=5)
    np.testing.assert_array_equal(ds.X, toy.X)
    np.testing.assert_array_equal(ds.y, toy.y)


def test_choices_come_from_the_engine_tables(client):
    from mlplab.registry import ACTIVATIONS, INITS

    c = client.get("/api/choices").json()
    assert c["activation"] == list(ACTIVATIONS) and c["init"] == list(INITS)
    assert {"circles", "moons", "xor", "spiral", "blobs", "upload"} == set(c["dataset"])
    assert "softmax+cross_entropy" in c["head"] and set(c["optimizer"]) == {"sgd", "momentum", "nesterov", "adam"}


# ------------------------------------------------------------------------------------------- training
def test_step_advances_exactly_one_epoch(client):
    sid = new_session(client)
    assert client.get(f"/api/sessions/{sid}").json()["epoch"] == 0
    assert steps(client, sid, 1)["epoch"] == 1
    assert steps(client, sid, 1)["epoch"] == 2


def test_seeded_circles_loss_falls_and_repeats(client):
    a, b = new_session(client), new_session(client)
    first = client.get(f"/api/sessions/{a}").json()
    end_a, end_b = steps(client, a, 8), steps(client, b, 8)
    assert end_a["test_loss"] < 0.5 * first["test_loss"] and end_a["train_loss"] < 0.5 * first["train_loss"]
    assert end_a["test_accuracy"] >= 0.95
    for key in ("train_loss", "test_loss", "test_accuracy"):
        assert end_a[key] == end_b[key]  # same seed, same numbers


def test_play_then_pause(client):
    sid = new_session(client)
    client.put(f"/api/sessions/{sid}/view", json={"speed": 0})
    client.post(f"/api/sessions/{sid}/play")
    deadline = time.monotonic() + 300  # generous: a cold kernel cache compiles first
    while client.get(f"/api/sessions/{sid}").json()["epoch"] < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    paused = client.post(f"/api/sessions/{sid}/pause").json()
    time.sleep(0.3)
    later = client.get(f"/api/sessions/{sid}").json()
    assert paused["epoch"] >= 3 and not later["running"]
    assert later["epoch"] <= paused["epoch"] + 1  # at most the epoch under way when Pause came


def test_diverging_run_reports_one_line_and_others_carry_on(client):
    bad = new_session(client, activation="identity", lr=100)
    good = new_session(client)
    client.post(f"/api/sessions/{bad}/step")
    st = client.get(f"/api/sessions/{bad}").json()
    assert st["error"] == {"field": "learning-rate",
                           "message": "diverged at epoch 1 with learning rate 100: lower it"}
    r = client.post(f"/api/sessions/{bad}/play")
    assert r.status_code == 400 and "diverged at epoch 1" in r.json()["error"]
    assert steps(client, good, 1)["epoch"] == 1
    fixed = client.put(f"/api/sessions/{bad}/settings", json={"lr": 0.1}).json()
    assert fixed["error"] is None and steps(client, bad, 1)["epoch"] == 1


def test_malformed_requests_are_one_line_400s(client):
    sid = new_session(client)
    for body in (b"{not json", b"[1, 2]", b'{"lr": ' + b"1" * 70_000 + b"}"):
        r = client.put(f"/api/sessions/{sid}/settings", content=body)
        assert r.status_code == 400 and "request body" in r.json()["error"]
    r = client.get(f"/api/sessions/{sid}/example?index=x")
    assert r.status_code == 400 and r.json()["field"] == "example"
    r = client.get(f"/api/sessions/{sid}/example?split=val")
    assert r.status_code == 400 and "split must be train or test" in r.json()["error"]
    r = client.get(f"/api/sessions/{sid}/command")
    assert r.status_code == 400 and "train at least one epoch first" in r.json()["error"]
    st = client.post(f"/api/sessions/{sid}/upload?name=d%C3%A4t%E6%95%B0.csv", content=GOOD_CSV.encode()).json()
    assert st["data_name"] == "d_t_.csv"  # a plain-ASCII name, safe in a download header
    steps(client, sid, 1)
    assert client.get(f"/api/sessions/{sid}/model.safetensors").status_code == 200


def test_unknown_session_is_404(client):
    for method, path in [("GET", ""), ("POST", "/step"), ("PUT", "/settings"), ("GET", "/stream"),
                         ("GET", "/model.safetensors")]:
        r = client.request(method, f"/api/sessions/nope{path}", json={})
        assert r.status_code == 404 and "unknown session" in r.json()["error"]


# --------------------------------------------------------------------------------------------- uploads
GOOD_CSV = "u,v,kind\n" + "".join(f"{np.cos(i):.4f},{np.sin(i * 0.7):.4f},{'a' if i % 3 else 'b'}\n"
                                  for i in range(120))


@pytest.mark.parametrize(("body", "status", "words"), [
    (b"a,b,label\n1,2,x\n1,zz,y\n", 400, "bad.csv: line 3, column 'b': 'zz' is not a number"),
    (b"a,b,label\n1,2,x\n1,2\n", 400, "bad.csv: line 3 has 2 fields; expected 3"),
    (b"a,b,label\n1,2,0.5\n3,4,1.25\n", 400, "regression task"),
    (b"a,b,label\n1,2,x\n3,4,x\n", 400, "at least two classes"),
    (b"\xff\xfe\x00garbage", 400, "bad.csv"),
    (b"   \n", 400, "bad.csv is empty"),
    (b"x,y,l\n" + b"1,2,a\n" * (MAX_UPLOAD_ROWS + 5), 400, f"at most {MAX_UPLOAD_ROWS}"),
    (b"1" * (MAX_UPLOAD_BYTES + 1), 413, "over the limit of 5 MB"),
])
def test_bad_uploads_answered_4xx_with_one_line(client, body, status, words):
    sid = new_session(client)
    r = client.post(f"/api/sessions/{sid}/upload?name=bad.csv", content=body)
    assert r.status_code == status, r.text
    err = r.json()
    assert err["field"] == "upload" and words in err["error"] and "\n" not in err["error"]
    assert "/tmp" not in err["error"] and "mlplab-playground" not in err["error"]  # the user's file name only
    assert steps(client, sid, 1)["epoch"] == 1  # the session still trains its previous data


def test_good_upload_trains_and_exports_its_data(client):
    sid = new_session(client)
    st = client.post(f"/api/sessions/{sid}/upload?name=my%20data.csv", content=GOOD_CSV.encode()).json()
    assert st["data_name"] == "my_data.csv" and st["settings"]["dataset"] == "upload" and st["sizes"][0] == 2
    assert steps(client, sid, 2)["epoch"] == 2
    pts = client.get(f"/api/sessions/{sid}/points").json()
    assert pts["class_names"] == ["a", "b"] and pts["n_train"] + pts["n_test"] == 120
    data = client.get(f"/api/sessions/{sid}/data.csv")
    assert data.content == GOOD_CSV.encode() and "my_data.csv" in data.headers["content-disposition"]
    cmd = client.get(f"/api/sessions/{sid}/command").json()
    assert "--dataset my_data.csv" in cmd["command"]


def test_wide_csv_has_no_boundary_but_confusion_matrices(client):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 5))
    rows = "".join(",".join(f"{v:.5f}" for v in x) + f",{int(x[0] > 0) + int(x[1] > 0)}\n" for x in X)
    sid = new_session(client)
    client.post(f"/api/sessions/{sid}/upload?name=wide.csv", content=rows.encode())
    steps(client, sid, 1)
    frame = client.get(f"/api/sessions/{sid}/frame").json()
    assert frame["boundary"] is None and frame["neurons"] == []
    assert len(frame["confusion"]["test"]) == 3 and sum(map(sum, frame["confusion"]["train"])) > 0


# ---------------------------------------------------------------------------------------------- frames
def test_frame_pictures_and_views(client):
    sid = new_session(client, hidden="6,5")
    steps(client, sid, 3)
    f = client.get(f"/api/sessions/{sid}/frame").json()
    assert f["epoch"] == 3 and f["boundary"]["n"] ** 2 == len(np.frombuffer(
        __import__("base64").b64decode(f["boundary"]["class"]), np.uint8))
    assert len(f["neurons"]) == 6 + 5 + 2 and f["network"]["sizes"] == [2, 6, 5, 2]  # hidden units, then ŷ_k
    client.put(f"/api/sessions/{sid}/view", json={"gradients": True})
    g = client.get(f"/api/sessions/{sid}/frame").json()["network"]
    assert np.shape(g["grad_weights"][1]) == (6, 5)
    bad = client.put(f"/api/sessions/{sid}/view", json={"speed": -1})
    assert bad.status_code == 400 and bad.json()["field"] == "speed"


def test_example_view_matches_the_lab_reference(client):
    """One example's forward/backward pass equals mlplab.reference for the lab's 2-layer tanh network."""
    from mlplab import reference

    sid = new_session(client)
    steps(client, sid, 2)
    ex = client.get(f"/api/sessions/{sid}/example?split=test&index=4").json()
    model = client.get(f"/api/sessions/{sid}/model.safetensors").content
    t = __import__("safetensors.numpy", fromlist=["load"]).load(model)
    params = {"W_h": t["W1"].T.astype(np.float64), "b_h": t["b1"].astype(np.float64),
              "W_y": t["W2"].T.astype(np.float64), "b_y": t["b2"].astype(np.float64)}
    x = np.array([ex["forward"][0]["values"]])
    y_hat, cache = reference.forward(params, x)
    Y = np.eye(2)[[ex["label"]]]
    grads = reference.backward(params, cache, Y)
    rows = {r["name"]: r for r in ex["forward"] + ex["backward"]}
    np.testing.assert_allclose(rows["h̃"]["values"], cache["h_tilde"][0], atol=2e-4)
    np.testing.assert_allclose(rows["ŷ"]["values"], y_hat[0], atol=2e-4)
    np.testing.assert_allclose(rows["δ_y"]["values"], y_hat[0] - Y[0], atol=2e-4)
    np.testing.assert_allclose(rows["∇W_y"]["values"], grads["W_y"].T, atol=2e-4)
    np.testing.assert_allclose(rows["∇W_h"]["values"], grads["W_h"].T, atol=2e-4)
    assert rows["δ_y"]["formula"] == "δ_y = ∂l/∂ỹ = ŷ − y" and ex["delta_minus_residual"] < 1e-6


def test_gradient_check_agrees(client):
    sid = new_session(client, hidden="5,4", activation="sigmoid")
    steps(client, sid, 1)
    r = client.post(f"/api/sessions/{sid}/gradcheck").json()
    assert r["ok"] and [t["name"] for t in r["tensors"]] == ["W_h1", "b_h1", "W_h2", "b_h2", "W_y", "b_y"]
    assert max(t["max_rel"] for t in r["tensors"]) < 1e-4
    big = new_session(client, hidden="100,100")
    r = client.post(f"/api/sessions/{big}/gradcheck")
    assert r.status_code == 400 and "parameters is more than" in r.json()["error"]


# ---------------------------------------------------------------------------------------------- export
def test_exported_model_predicts_and_evaluates_with_mlplab(client, tmp_path, capsys):
    sid = new_session(client, dataset="moons", hidden="8")
    st = steps(client, sid, 4)
    r = client.get(f"/api/sessions/{sid}/model.safetensors")
    assert r.status_code == 200 and "mlplab-moons-epoch4.safetensors" in r.headers["content-disposition"]
    model = tmp_path / "m.safetensors"
    model.write_bytes(r.content)
    rows = tmp_path / "rows.csv"
    rows.write_text("x1,x2\n0.0,0.5\n1.0,-0.5\n")
    assert cli_main(["predict", "--model", str(model), "--input", str(rows)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "row,label,p_upper,p_lower" and len(out.splitlines()) == 3
    assert cli_main(["evaluate", "--model", str(model), "--json", str(tmp_path / "e.json")]) == 0
    ev = json.loads((tmp_path / "e.json").read_text())
    assert ev["accuracy"] == pytest.approx(st["test_accuracy"]) and ev["n"] == 300


@pytest.mark.parametrize("settings", [
    {},
    {"dataset": "spiral", "hidden": "12,6", "activation": "relu", "optimizer": "nesterov", "momentum": 0.8,
     "lr": 0.05, "batch_size": 7, "weight_decay": 0.001, "dropout": 0.1, "seed": 3, "n_samples": 300,
     "noise": 0.2, "test_fraction": 0.25},
    {"dataset": "xor", "optimizer": "adam", "lr": 0.01, "batch_size": "full", "init": "normal", "init_scale": 0.5,
     "head": "sigmoid+mse", "activation": "sigmoid"},
])
def test_copy_as_command_reproduces_the_same_final_weights(client, tmp_path, settings):
    sid = new_session(client, **settings)
    steps(client, sid, 3)
    client.post(f"/api/sessions/{sid}/play")  # some epochs while playing, then steps again
    time.sleep(0.2)
    client.post(f"/api/sessions/{sid}/pause")
    epoch = steps(client, sid, 1)["epoch"]
    cmd = client.get(f"/api/sessions/{sid}/command").json()["command"]
    page_model = tmp_path / "page.safetensors"
    page_model.write_bytes(client.get(f"/api/sessions/{sid}/model.safetensors").content)
    argv = shlex.split(cmd)
    assert argv[:2] == ["mlplab", "train"] and f"--epochs {epoch}" in cmd
    argv[argv.index("--save") + 1] = str(tmp_path / "cli.safetensors")
    assert cli_main([*argv[1:], "-q", "--out", str(tmp_path / "run")]) == 0
    page, cli = load_file(page_model), load_file(tmp_path / "cli.safetensors")
    assert set(page) == set(cli)
    for k in page:
        np.testing.assert_array_equal(page[k], cli[k], err_msg=k)


# ------------------------------------------------------------------------------------------ concurrency
def _trained_alone(store, settings: dict, n: int) -> dict:
    s = store.create(ps.parse_settings(settings))
    for _ in range(n):
        s.step()
    params = s.snapshot.params
    store.close(s.id)
    return params


def test_sessions_trained_concurrently_equal_sessions_trained_alone(store):
    a_set = {"hidden": "16,16", "batch_size": 5}
    b_set = {"dataset": "moons", "optimizer": "adam", "lr": 0.01, "dropout": 0.2}
    alone_a, alone_b = _trained_alone(store, a_set, 6), _trained_alone(store, b_set, 6)
    a, b = store.create(ps.parse_settings(a_set)), store.create(ps.parse_settings(b_set))
    noisy = store.create(ps.parse_settings({"hidden": "32", "batch_size": 1}))
    noisy.set_view(speed=0)
    noisy.play()  # a third session training flat out all along
    errors = []

    def go(s):
        try:
            for _ in range(6):
                s.step()
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=go, args=(s,)) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    noisy.pause()
    assert not errors and a.snapshot.epoch == b.snapshot.epoch == 6 and noisy.snapshot.epoch > 0
    for alone, s in ((alone_a, a), (alone_b, b)):
        for k in alone:
            np.testing.assert_array_equal(alone[k], s.snapshot.params[k], err_msg=k)


def test_closed_and_idle_sessions_are_freed(store, client):
    sid = new_session(client)
    s = store.get(sid)
    s.play()
    workdir = s.workdir
    assert client.delete(f"/api/sessions/{sid}").status_code == 200
    assert client.get(f"/api/sessions/{sid}").status_code == 404
    assert not s.thread.is_alive() and not workdir.exists() and s.closed
    # idle: nobody touches it for longer than the idle timeout
    idle = new_session(client)
    assert store.reap(time.monotonic() + store.idle_timeout + 1) >= 1 and idle not in store.sessions
    # a page whose stream ended: training stops at once, memory is freed after the grace period
    tab = store.create()
    tab.attach()
    tab.play()
    tab.detach()
    assert not tab.running
    assert store.reap(time.monotonic() + store.grace + 0.1) == 1 and tab.id not in store.sessions


def test_a_closed_session_leaves_nothing_behind(store):
    import gc
    import weakref

    s = store.create(ps.parse_settings({"hidden": "16,16"}))
    s.step()
    s.pictures()
    ref, thread, workdir = weakref.ref(s), s.thread, s.workdir
    store.close(s.id)
    del s
    gc.collect()
    assert ref() is None and not thread.is_alive() and not workdir.exists() and not store.sessions


def test_session_count_is_bounded(store):
    made = [store.create() for _ in range(store.max_sessions)]
    extra = store.create()  # the least recently seen session without a page makes room
    assert len(store.sessions) == store.max_sessions and made[0].closed and not extra.closed
    for s in store.sessions.values():
        s.attach()
    from mlplab.playground.session import TooManySessions

    with pytest.raises(TooManySessions, match="too many open playground pages"):
        store.create()


# ------------------------------------------------------------------------------------ real server
@pytest.fixture
def live_server(tmp_path):
    import uvicorn

    from mlplab.playground.server import bind, url_of

    store = SessionStore(root=tmp_path)
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(create_app(store), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield url_of(sock)
    store.stopping.set()
    server.should_exit = True
    thread.join(10)
    sock.close()


def test_live_stream_arrives_in_order(live_server):
    import httpx2

    with httpx2.Client(base_url=live_server, timeout=300) as http:
        sid = http.post("/api/sessions", json={}).json()["session"]
        http.put(f"/api/sessions/{sid}/view", json={"speed": 100})
        frames = []
        with http.stream("GET", f"/api/sessions/{sid}/stream") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            started = time.monotonic()
            http.post(f"/api/sessions/{sid}/play")
            event = None
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "frame":
                    frames.append(json.loads(line[6:]))
                    if frames[-1]["epoch"] >= 30:
                        break
            seconds = time.monotonic() - started
        # the stream is closed (as when a tab closes): training stops without being told
        deadline = time.monotonic() + 10
        while http.get(f"/api/sessions/{sid}").json()["running"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not http.get(f"/api/sessions/{sid}").json()["running"]
    seqs = [f["seq"] for f in frames]
    assert seqs == list(range(1, len(seqs) + 1))
    epochs = [f["epoch"] for f in frames]
    assert epochs == sorted(epochs) and epochs[0] == 0 and epochs[-1] >= 30
    history = [h["epoch"] for f in frames for h in f["history"]]
    assert history == list(range(1, len(history) + 1))  # every epoch exactly once, in order
    assert len(frames) >= 5 and seconds < 300


def test_cli_port_taken_is_one_line_exit_2(capsys):
    from mlplab.playground.server import bind

    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    try:
        assert cli_main(["playground", "--no-browser", "--port", str(port)]) == 2
    finally:
        sock.close()
    err = capsys.readouterr().err
    assert err == f"mlplab: error: port {port} on 127.0.0.1 is already in use; choose another with --port\n"


def test_cli_serves_then_stops_on_ctrl_c(tmp_path):
    import signal

    import httpx2

    proc = subprocess.Popen([sys.executable, "-m", "mlplab", "playground", "--no-browser", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("mlplab playground: http://127.0.0.1:")
        url = line.split()[2]
        page = httpx2.get(url, timeout=30)
        assert page.status_code == 200 and 'data-testid="boundary"' in page.text
        sid = httpx2.post(url + "api/sessions", json={}, timeout=30).json()["session"]
        with httpx2.stream("GET", f"{url}api/sessions/{sid}/stream", timeout=30) as s:
            next(s.iter_lines())  # an open stream must not keep the server from stopping
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


def test_static_files_are_package_data():
    from importlib.resources import files

    static = files("mlplab.playground") / "static"
    for name in ("index.html", "app.js", "style.css"):
        assert (static / name).is_file()
    text = (Path(str(static)) / "index.html").read_text()
    assert "http" not in text.replace("http-equiv", "")  # nothing loaded from elsewhere
