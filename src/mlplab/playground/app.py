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
    """The app over ``store`` (a fresh one by default); ``app.state.store`` holds it."""
    store = store or SessionStore()

    def session(request: Request, action: bool = True) -> Session:
        return store.get(request.path_params["sid"], action)

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    @api()
    async def choices(request: Request) -> Response:
        return JSONResponse(ps.choices())

    @api()
    async def create(request: Request) -> Response:
        body = await _json(request)
        settings = ps.parse_settings(body.get("settings") or {})
        if settings.dataset == ps.UPLOAD:
            raise MlplabError("dataset: upload a CSV file first")
        s = await run_in_threadpool(store.create, settings)
        return JSONResponse(s.state(), status_code=201)

    @api()
    async def get_state(request: Request) -> Response:
        return JSONResponse(session(request, action=False).state())

    @api()
    async def close(request: Request) -> Response:
        found = await run_in_threadpool(store.close, request.path_params["sid"])
        if not found:
            raise UnknownSession(f"unknown session {request.path_params['sid'][:40]!r}")
        return JSONResponse({"closed": True})

    @api()
    async def put_settings(request: Request) -> Response:
        s = session(request)
        body = await _json(request)
        with s.lock:
            base = s.run.settings
        settings = ps.parse_settings(body, base)
        if settings.dataset == ps.UPLOAD and s.data_path is None:
            raise MlplabError("dataset: upload a CSV file first")
        await run_in_threadpool(s.reset, settings)
        return JSONResponse(s.state())

    def control(name: str) -> Handler:
        @api()
        async def endpoint(request: Request) -> Response:
            s = session(request)
            await run_in_threadpool(getattr(s, name))
            return JSONResponse(s.state())

        return endpoint

    @api()
    async def view(request: Request) -> Response:
        s = session(request)
        body = await _json(request)
        speed = body.get("speed")
        if speed is not None and (isinstance(speed, bool) or not isinstance(speed, int | float)
                                  or not 0 <= speed <= MAX_SPEED):
            raise MlplabError(f"speed: epochs per second must be 0 (as fast as possible) to {MAX_SPEED:g}; "
                                  f"got {speed!r}")
        grads = body.get("gradients")
        if grads is not None and not isinstance(grads, bool):
            raise MlplabError(f"gradients: expected true or false; got {grads!r}")
        s.set_view(speed, grads)
        return JSONResponse(s.state())

    @api("upload")
    async def upload(request: Request) -> Response:
        s = session(request)
        name = ps.display_name(request.query_params.get("name", "data.csv"))
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
        body = b"".join(chunks)
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
        s = session(request, action=False)
        return JSONResponse(await run_in_threadpool(s.points))

    @api()
    async def frame(request: Request) -> Response:
        s = session(request, action=False)
        pictures = await run_in_threadpool(s.pictures)
        return JSONResponse({**s.state(), **pictures})

    @api("example")
    async def example(request: Request) -> Response:
        s = session(request)
        split = request.query_params.get("split", "train")
        try:
            index = int(request.query_params.get("index", "0"))
        except ValueError:
            raise MlplabError(f"example: index must be an integer; got {request.query_params.get('index')!r}") \
                from None
        return JSONResponse(await run_in_threadpool(s.example, split, index))

    @api("gradcheck")
    async def gradcheck(request: Request) -> Response:
        s = session(request)
        return JSONResponse(await run_in_threadpool(s.gradient_check))

    @api("export")
    async def model_file(request: Request) -> Response:
        s = session(request)
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
        s = session(request)
        name, data = await run_in_threadpool(s.data_csv)
        return Response(data, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @api("export")
    async def command(request: Request) -> Response:
        return JSONResponse(session(request).command())

    async def stream(request: Request) -> Response:
        try:
            s = session(request, action=False)
        except UnknownSession as e:
            return error(str(e), 404, "session")
        return StreamingResponse(_frames(s, store), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
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

    sid = "/api/sessions/{sid}"
    routes = [
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
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.store = store
    return app


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
