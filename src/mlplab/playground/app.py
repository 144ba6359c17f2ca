"""The playground's ASGI app (Starlette): the page, a JSON API per session, and live frames as server-sent events.

Every user error (bad setting, bad upload, unknown session, a diverged run) is answered with a 4xx and
``{"error": one line, "field": the control it concerns}``; nothing a page sends can raise a traceback here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from mlplab.errors import MlplabError, TrainingDiverged
from mlplab.playground import settings as ps
from mlplab.playground.session import (
    MAX_SPEED,
    MAX_UPLOAD_BYTES,
    Session,
    SessionStore,
    TooManySessions,
    UnknownSession,
)

STATIC = Path(__file__).parent / "static"
FRAME_INTERVAL = 0.05  # seconds between frames of a stream (at most 20 per second)
KEEPALIVE = 15.0  # seconds of silence before a stream sends a comment line
REAP_EVERY = 2.0  # seconds between sweeps for idle and abandoned sessions
MAX_JSON_BYTES = 64 * 1024  # settings and view changes are a few hundred bytes
log = logging.getLogger("mlplab.playground")
SETTING_FIELDS = {name.replace("_", "-") for name in ps.Settings.__dataclass_fields__} | {"lr", "learning-rate"}
FIELD_ALIASES = {"lr": "learning-rate"}
OTHER_FIELDS = {"upload", "play", "speed", "gradients", "example", "gradcheck", "export", "command", "session"}


def _field(message: str, default: str) -> str:
    """The control an error message starts with ("hidden: …" → "hidden"), else ``default``."""
    head = message.split(":", 1)[0].strip()
    return FIELD_ALIASES.get(head, head) if head in SETTING_FIELDS | OTHER_FIELDS else default


def error(message: str, status: int = 400, field: str = "play") -> JSONResponse:
    line = " ".join(str(message).split())
    return JSONResponse({"error": line, "field": _field(line, field)}, status_code=status)


Handler = Callable[[Request], Awaitable[Response]]


def api(default_field: str = "play") -> Callable[[Handler], Handler]:
    """Wrap an endpoint: user errors → 4xx with one line; anything else → 500 with one line logged, no traceback."""

    def wrap(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except UnknownSession as e:
                return error(str(e), 404, "session")
            except TooManySessions as e:
                return error(str(e), 503, "session")
            except TrainingDiverged as e:
                return error(str(e), 409, "learning-rate")
            except MlplabError as e:
                return error(str(e), 400, default_field)
            except Exception as e:  # a bug: one line in the log and to the page, the server keeps serving
                log.error("playground: internal error in %s: %s: %s", request.url.path, type(e).__name__, e)
                return error(f"internal error: {type(e).__name__}: {e}", 500, default_field)

        return endpoint

    return wrap


async def _json(request: Request) -> dict:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BYTES:
            raise MlplabError(f"request body is larger than {MAX_JSON_BYTES // 1024} KB")
    if not body:
        return {}
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise MlplabError("request body is not JSON") from None
    if not isinstance(data, dict):
        raise MlplabError("request body must be a JSON object")
    return data


def create_app(store: SessionStore | None = None) -> Starlette:
    """The app over ``store`` (a fresh one by default); ``app.state.store`` holds it, and every handler reads it."""
    app = Starlette(routes=routes(), lifespan=lifespan)
    app.state.store = store or SessionStore()
    return app


def routes() -> list[Route | Mount]:
    """Every URL of the app: the page, the choices, sessions and what a page does with its session."""
    sid = "/api/sessions/{sid}"
    return [
        Route("/", index),
        Route("/api/choices", choices),
        Route("/api/sessions", create, methods=["POST"]),
        Route(sid, get_state),
        Route(sid, close, methods=["DELETE"]),
        Route(sid + "/close", close, methods=["POST"]),
        Route(sid + "/settings", put_settings, methods=["PUT"]),
        *[Route(f"{sid}/{name}", control(name), methods=["POST"]) for name in ("play", "pause", "step", "reset")],
        Route(sid + "/view", view, methods=["PUT"]),
        Route(sid + "/upload", upload, methods=["POST"]),
        Route(sid + "/points", points),
        Route(sid + "/frame", frame),
        Route(sid + "/example", example),
        Route(sid + "/gradcheck", gradcheck, methods=["POST"]),
        Route(sid + "/model.safetensors", model_file),
        Route(sid + "/data.csv", data_csv),
        Route(sid + "/command", command),
        Route(sid + "/stream", stream),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """While the app serves, sweep idle sessions every REAP_EVERY seconds; on shutdown, close them all."""
    store: SessionStore = app.state.store

    async def reaper() -> None:
        while True:
            await asyncio.sleep(REAP_EVERY)
            await run_in_threadpool(store.reap)

    task = asyncio.create_task(reaper())
    try:
        yield
    finally:
        task.cancel()
        await run_in_threadpool(store.close_all)


def _store(request: Request) -> SessionStore:
    return request.app.state.store


def _session(request: Request, action: bool = True) -> Session:
    """The session the URL names (``action``: the request counts as activity, keeping the session alive)."""
    return _store(request).get(request.path_params["sid"], action)


# ------------------------------------------------------------------------------------------- route handlers
async def index(request: Request) -> Response:
    """The page."""
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


@api()
async def choices(request: Request) -> Response:
    """Every control's choices and limits (``settings.choices``)."""
    return JSONResponse(ps.choices())


@api()
async def create(request: Request) -> Response:
    """A new session with the posted settings (201 and its state)."""
    body = await _json(request)
    settings = ps.parse_settings(body.get("settings") or {})
    if settings.dataset == ps.UPLOAD:
        raise MlplabError("dataset: upload a CSV file first")
    s = await run_in_threadpool(_store(request).create, settings)
    return JSONResponse(s.state(), status_code=201)


@api()
async def get_state(request: Request) -> Response:
    """A session's state, without counting as activity."""
    return JSONResponse(_session(request, action=False).state())


@api()
async def close(request: Request) -> Response:
    """Free a session (DELETE, or POST …/close for ``navigator.sendBeacon``)."""
    sid = request.path_params["sid"]
    if not await run_in_threadpool(_store(request).close, sid):
        raise UnknownSession(f"unknown session {sid[:40]!r}")
    return JSONResponse({"closed": True})


@api()
async def put_settings(request: Request) -> Response:
    """Change settings (a partial object over the current ones) and restart the run with them."""
    s = _session(request)
    body = await _json(request)
    with s.lock:
        base = s.run.settings
    settings = ps.parse_settings(body, base)
    if settings.dataset == ps.UPLOAD and s.data_path is None:
        raise MlplabError("dataset: upload a CSV file first")
    await run_in_threadpool(s.reset, settings)
    return JSONResponse(s.state())


def control(name: str) -> Handler:
    """The handler of one of the session's buttons: play, pause, step or reset."""

    @api()
    async def endpoint(request: Request) -> Response:
        s = _session(request)
        await run_in_threadpool(getattr(s, name))
        return JSONResponse(s.state())

    return endpoint


def view_change(body: dict) -> tuple[float | None, bool | None]:
    """(speed, gradients) from a view change, each None when absent; MlplabError naming a bad value."""
    speed = body.get("speed")
    if speed is not None and (isinstance(speed, bool) or not isinstance(speed, int | float)
                              or not 0 <= speed <= MAX_SPEED):
        raise MlplabError(f"speed: epochs per second must be 0 (as fast as possible) to {MAX_SPEED:g}; got {speed!r}")
    grads = body.get("gradients")
    if grads is not None and not isinstance(grads, bool):
        raise MlplabError(f"gradients: expected true or false; got {grads!r}")
    return speed, grads


@api()
async def view(request: Request) -> Response:
    """Change what the page is shown (speed, gradients), not what is trained."""
    s = _session(request)
    s.set_view(*view_change(await _json(request)))
    return JSONResponse(s.state())


async def _upload_body(request: Request, name: str) -> bytes | Response:
    """The uploaded bytes, or a 413 response as soon as they exceed MAX_UPLOAD_BYTES (declared or streamed)."""
    declared = request.headers.get("content-length")
    limit_mb = MAX_UPLOAD_BYTES // 2**20
    if declared and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        return error(f"upload: {name} is {int(declared)} bytes, over the limit of {limit_mb} MB", 413, "upload")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_UPLOAD_BYTES:
            return error(f"upload: {name} is over the limit of {limit_mb} MB", 413, "upload")
        chunks.append(chunk)
    return b"".join(chunks)


@api("upload")
async def upload(request: Request) -> Response:
    """A CSV file for the session to train on (query: name, label_column)."""
    s = _session(request)
    name = ps.display_name(request.query_params.get("name", "data.csv"))
    body = await _upload_body(request, name)
    if isinstance(body, Response):
        return body
    if not body.strip():
        raise MlplabError(f"upload: {name} is empty; expected CSV rows of features and a label")
    label = request.query_params.get("label_column") or None
    try:
        await run_in_threadpool(s.upload, name, body, label)
    except MlplabError as e:
        return error(f"upload: {e}", 400, "upload")
    return JSONResponse(s.state())


@api()
async def points(request: Request) -> Response:
    """The session's data points (2-D sets), for the scatter under the boundary."""
    s = _session(request, action=False)
    return JSONResponse(await run_in_threadpool(s.points))


@api()
async def frame(request: Request) -> Response:
    """One frame (state and pictures), for a page that does not stream."""
    s = _session(request, action=False)
    pictures = await run_in_threadpool(s.pictures)
    return JSONResponse({**s.state(), **pictures})


@api("example")
async def example(request: Request) -> Response:
    """One example of a split with the network's prediction (query: split, index)."""
    s = _session(request)
    split = request.query_params.get("split", "train")
    try:
        index = int(request.query_params.get("index", "0"))
    except ValueError:
        raise MlplabError(f"example: index must be an integer; got {request.query_params.get('index')!r}") from None
    return JSONResponse(await run_in_threadpool(s.example, split, index))


@api("gradcheck")
async def gradcheck(request: Request) -> Response:
    """Backprop's gradients against finite differences on the current weights."""
    s = _session(request)
    return JSONResponse(await run_in_threadpool(s.gradient_check))


@api("export")
async def model_file(request: Request) -> Response:
    """The current network as a model file (safetensors), for ``mlplab predict``/``evaluate``."""
    s = _session(request)
    with tempfile.TemporaryDirectory(prefix="mlplab-export-") as tmp:
        path = Path(tmp) / "model.safetensors"
        await run_in_threadpool(s.export_model, path)
        data = path.read_bytes()
    st = s.state()
    name = f"mlplab-{Path(st['data_name'] or st['settings']['dataset']).stem}-epoch{st['epoch']}.safetensors"
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@api("export")
async def data_csv(request: Request) -> Response:
    """The session's data as CSV."""
    s = _session(request)
    name, data = await run_in_threadpool(s.data_csv)
    return Response(data, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@api("export")
async def command(request: Request) -> Response:
    """The ``mlplab train`` command line that trains the same network."""
    return JSONResponse(_session(request).command())


async def stream(request: Request) -> Response:
    """Live frames as server-sent events (``_frames``)."""
    try:
        s = _session(request, action=False)
    except UnknownSession as e:
        return error(str(e), 404, "session")
    return StreamingResponse(_frames(s, _store(request)), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _event(name: str, data: dict, seq: int) -> str:
    return f"id: {seq}\nevent: {name}\ndata: {json.dumps(data, allow_nan=False, separators=(',', ':'))}\n\n"


async def _frames(s: Session, store: SessionStore) -> AsyncIterator[str]:
    """Server-sent events for one page: a "frame" whenever the session changed (≤ 20 a second), in order.

    Each frame carries a sequence number, the state, the history entries since the previous frame, and the
    pictures of the latest snapshot. Ends with an "expired" event when the session is freed.
    """
    s.attach()
    seq, seen, gen, n_hist, runs_seen, quiet_since = 0, -1, -1, 0, None, time.monotonic()
    try:
        while not store.stopping.is_set():
            if s.closed:
                yield _event("expired", {"error": "this session was closed or expired: reload the page",
                                         "field": "session"}, seq + 1)
                return
            t0 = time.monotonic()
            if s.version != seen:
                seen = s.version
                state = s.state()
                pictures = await run_in_threadpool(s.pictures)
                gen_now, hist, fresh = s.history_since(gen, n_hist)
                if fresh:
                    n_hist = 0
                gen, n_hist = gen_now, n_hist + len(hist)
                seq += 1
                frame = {"seq": seq, **state, **pictures, "history": hist, "history_reset": fresh}
                runs = s.earlier_runs()
                if runs != runs_seen:
                    frame["earlier_runs"], runs_seen = runs, runs
                yield _event("frame", frame, seq)
                quiet_since = t0
            elif t0 - quiet_since > KEEPALIVE:
                yield ": keep-alive\n\n"
                quiet_since = t0
            await asyncio.sleep(max(0.0, FRAME_INTERVAL - (time.monotonic() - t0)))
    finally:
        s.detach()
