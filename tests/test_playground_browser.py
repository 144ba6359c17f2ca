"""The playground page in headless Chromium (Debian's package) driven by Playwright, against a real server.

The server is ``mlplab playground --no-browser --port 0`` in a subprocess; every request the page makes is
recorded and must stay on 127.0.0.1. With CI=true a missing browser or Playwright fails instead of skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from urllib.parse import urlparse

import pytest

from conftest import require

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - reported by require() below
    sync_playwright = None


@pytest.fixture(scope="module")
def server():
    require(sync_playwright is not None, "playwright is not installed (pip install 'mlplab[test]')")
    require(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)")
    proc = subprocess.Popen([sys.executable, "-m", "mlplab", "playground", "--no-browser", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("mlplab playground: http://127.0.0.1:"), line + proc.stderr.read()
    yield line.split()[2]
    proc.terminate()
    _, err = proc.communicate(timeout=20)
    assert "Traceback" not in err, err


@pytest.fixture(scope="module")
def browser(server):
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh page (its own session) that records console errors and every request it makes."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(90_000)  # a loaded machine (or numba compiling on a cold cache) can be slow
    pg.problems, pg.requests = [], []
    pg.on("console", lambda m: m.type == "error" and pg.problems.append(m.text))
    pg.on("pageerror", lambda e: pg.problems.append(str(e)))
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.goto(server)
    pg.get_by_role("button", name="Step").wait_for()
    pg.wait_for_function("!document.getElementById('step').disabled", timeout=60_000)
    yield pg
    context.close()


def text(pg, testid: str) -> str:
    return pg.get_by_test_id(testid).text_content()


def wait_number(pg, testid: str, op: str, value: float, timeout: float = 90_000) -> None:
    pg.wait_for_function(
        f"parseFloat(document.querySelector('[data-testid={testid}]').textContent) {op} {value}", timeout=timeout)


def test_page_loads_with_no_console_error_and_no_request_leaving_loopback(page):
    page.wait_for_function("document.querySelector('[data-testid=test-loss]').textContent !== '–'")
    for testid in ("epoch", "train-loss", "test-loss", "test-accuracy", "boundary", "upload", "export-model",
                   "dataset", "activation", "learning-rate", "batch-size", "hidden"):
        assert page.get_by_test_id(testid).count() == 1, testid
    for name in ("Play", "Pause", "Step", "Reset"):
        assert page.get_by_role("button", name=name, exact=True).count() == 1
    assert page.get_by_test_id("hidden").input_value() == "10"
    time.sleep(0.3)
    assert page.problems == []
    hosts = {urlparse(u).hostname for u in page.requests if not u.startswith("data:")}
    assert hosts == {"127.0.0.1"}, page.requests


def test_step_shows_epoch_1(page):
    assert text(page, "epoch") == "0"
    page.get_by_role("button", name="Step").click()
    # generous: on a machine whose kernel cache is cold the first epoch waits for numba to compile
    page.wait_for_function("document.querySelector('[data-testid=epoch]').textContent === '1'", timeout=120_000)
    time.sleep(0.3)
    assert text(page, "epoch") == "1"


def test_play_then_pause_epoch_rises_then_stops(page):
    page.get_by_role("button", name="Play").click()
    wait_number(page, "epoch", ">=", 5)
    page.get_by_role("button", name="Pause").click()
    time.sleep(0.4)
    stopped = int(text(page, "epoch"))
    time.sleep(0.6)
    assert int(text(page, "epoch")) == stopped >= 5


def test_default_circles_run_reaches_095_with_the_inner_class_at_the_centre(page):
    page.get_by_role("button", name="Play").click()
    wait_number(page, "test-accuracy", ">=", 0.95)  # the page shows ≥ 0.95 (reached near epoch 6)
    # Early epochs still wobble around 0.95, so the check after Pause waits until training has settled.
    wait_number(page, "epoch", ">=", 30)
    page.get_by_role("button", name="Pause").click()
    assert float(text(page, "test-accuracy")) >= 0.95 and float(text(page, "test-loss")) < 0.6
    time.sleep(0.3)
    colours = json.loads(page.get_by_test_id("boundary").get_attribute("data-class-colors"))
    names = json.loads(page.get_by_test_id("boundary").get_attribute("data-class-names"))
    centre = page.evaluate("""() => { const c = document.querySelector('[data-testid=boundary]');
        return Array.from(c.getContext('2d').getImageData(c.width / 2, c.height / 2, 1, 1).data.slice(0, 3)); }""")
    dist = [sum((a - b) ** 2 for a, b in zip(centre, c, strict=True)) for c in colours]
    assert names[dist.index(min(dist))] == "inner", (centre, colours)
    assert page.problems == []


def _pixels(pg) -> list[int]:
    return pg.evaluate("""() => { const c = document.querySelector('[data-testid=boundary]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        return Array.from(d.filter((_, i) => i % 97 == 0)); }""")


def test_csv_upload_redraws(page, tmp_path):
    page.get_by_role("button", name="Step").click()
    page.wait_for_function("document.querySelector('[data-testid=epoch]').textContent === '1'")
    before = _pixels(page)
    csv = tmp_path / "stripes.csv"
    csv.write_text("a,b,side\n" + "".join(f"{(i % 37) / 5 - 3.5:.3f},{(i * 7 % 41) / 6 - 3:.3f},"
                                          f"{'left' if (i % 37) < 18 else 'right'}\n" for i in range(300)))
    page.get_by_test_id("upload").set_input_files(str(csv))
    page.wait_for_function("document.getElementById('status').textContent.includes('stripes.csv')")
    page.wait_for_function("document.getElementById('legend').textContent.includes('left')")
    assert text(page, "epoch") == "0" and page.get_by_test_id("dataset").input_value() == "upload"
    page.get_by_role("button", name="Step").click()
    page.wait_for_function("document.querySelector('[data-testid=epoch]').textContent === '1'")
    time.sleep(0.3)
    assert _pixels(page) != before
    assert page.get_by_test_id("error").is_hidden() and page.problems == []


def test_bad_csv_shows_the_error(page, tmp_path):
    bad = tmp_path / "broken.csv"
    bad.write_text("a,b,label\n1,2,x\n3,oops,y\n")
    page.get_by_test_id("upload").set_input_files(str(bad))
    error = page.get_by_test_id("error")
    error.wait_for(state="visible")
    assert error.text_content() == "upload: broken.csv: line 3, column 'b': 'oops' is not a number"
    page.get_by_role("button", name="Step").click()  # the page still trains its previous data
    page.wait_for_function("document.querySelector('[data-testid=epoch]').textContent === '1'")


def test_bad_setting_shows_the_error_next_to_its_control(page):
    page.get_by_test_id("learning-rate").fill("-3")
    page.get_by_test_id("learning-rate").press("Enter")
    page.get_by_test_id("learning-rate").blur()
    error = page.get_by_test_id("error")
    error.wait_for(state="visible")
    assert error.text_content() == "learning-rate: -3 is out of range (0, 1000]"
    near = page.evaluate("document.querySelector('[data-testid=error]').previousElementSibling.dataset.field")
    assert near == "learning-rate"


def test_exported_model_predicts_with_mlplab(page, tmp_path):
    page.get_by_test_id("hidden").fill("8,8")
    page.get_by_test_id("hidden").blur()
    page.wait_for_function("document.getElementById('status').textContent.includes('paused')")
    for _ in range(3):
        page.get_by_role("button", name="Step").click()
    page.wait_for_function("document.querySelector('[data-testid=epoch]').textContent === '3'")
    with page.expect_download() as info:
        page.get_by_test_id("export-model").click()
    model = tmp_path / info.value.suggested_filename
    info.value.save_as(model)
    assert model.name == "mlplab-circles-epoch3.safetensors"
    rows = tmp_path / "rows.csv"
    rows.write_text("0,0\n1.2,0\n")
    mlplab = shutil.which("mlplab") or os.path.join(os.path.dirname(sys.executable), "mlplab")
    out = subprocess.run([mlplab, "predict", "--model", str(model), "--input", str(rows)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "row,label,p_outer,p_inner" and len(lines) == 3


def test_closing_the_tab_frees_its_session(browser, server):
    import httpx2

    context = browser.new_context()
    pg = context.new_page()
    urls = []
    pg.on("request", lambda r: urls.append(r.url))
    pg.goto(server)
    pg.wait_for_function("!document.getElementById('play').disabled")
    pg.get_by_role("button", name="Play").click()
    sid = next(u.split("/api/sessions/")[1].split("/")[0] for u in urls if "/api/sessions/" in u)
    assert httpx2.get(f"{server}api/sessions/{sid}", timeout=30).status_code == 200
    pg.close(run_before_unload=True)
    context.close()
    deadline = time.monotonic() + 20
    while httpx2.get(f"{server}api/sessions/{sid}", timeout=30).status_code != 404:
        assert time.monotonic() < deadline, "the closed tab's session is still there"
        time.sleep(0.1)
