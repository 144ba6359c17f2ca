// mlplab playground page: plain JavaScript and canvas, no build step, nothing loaded from outside this server.
// The server trains; this page sends settings and button presses, and draws the frames it streams (SSE).
"use strict";

const PALETTE = ["#f59322", "#0877bd", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf"];
const NEG = [245, 147, 34], POS = [8, 119, 189];  // orange for negative, blue for positive values

const $ = (id) => document.getElementById(id);
const page = {
  sid: null, state: null, choices: null, source: null, points: null, dataVersion: -1,
  history: [], earlier: [], frame: null, boundaryImage: null, diagramHits: [], starting: null,
};

function classColor(k) {
  return k < PALETTE.length ? PALETTE[k] : `hsl(${(k * 137) % 360} 60% 45%)`;
}
function rgbOf(css) {
  if (css.startsWith("#")) return [1, 3, 5].map((i) => parseInt(css.slice(i, i + 2), 16));
  const c = document.createElement("canvas").getContext("2d");
  c.fillStyle = css; c.fillRect(0, 0, 1, 1);
  return Array.from(c.getImageData(0, 0, 1, 1).data.slice(0, 3));
}
function fmt(x, digits = 4) {
  return x === null || x === undefined || Number.isNaN(x) ? "–" : Number(x).toFixed(digits);
}
function decode(b64, signed) {
  const bin = atob(b64);
  const out = signed ? new Int8Array(bin.length) : new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// ------------------------------------------------------------------------------------------- errors
function showError(message, field) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
  const anchor = field && document.querySelector(`[data-field="${field}"]`);
  const home = anchor || document.querySelector(".controls");
  if (box.previousElementSibling !== home) home.insertAdjacentElement("afterend", box);
}
function clearError() {
  const box = $("error");
  box.hidden = true;
  box.textContent = "";
}

// ---------------------------------------------------------------------------------------------- API
async function api(method, path, body, raw) {
  const opts = { method, headers: {} };
  if (raw !== undefined) { opts.body = raw; opts.headers["Content-Type"] = "text/csv"; }
  else if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
  const response = await fetch(path, opts);
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) {
    const err = new Error((data && data.error) || `${method} ${path}: HTTP ${response.status}`);
    err.field = data && data.field;
    err.status = response.status;
    throw err;
  }
  return data;
}
const sessionPath = (tail) => `/api/sessions/${page.sid}${tail}`;

async function act(fn, field) {
  try {
    const result = await fn();
    clearError();
    return result;
  } catch (err) {
    if (err.status === 404 && err.field === "session") {
      await startSession();
      showError("this page's session had expired (idle or closed), so a new one started: try again", field);
      return null;
    }
    showError(err.message, err.field || field);
    return null;
  }
}

// ------------------------------------------------------------------------------------------ session
async function startSession() {
  if (page.starting) return page.starting;
  page.starting = (async () => {
    if (page.source) page.source.close();
    const settings = page.state ? { ...page.state.settings } : undefined;
    if (settings && settings.dataset === "upload") settings.dataset = "circles";
    const state = await api("POST", "/api/sessions", settings ? { settings } : {});
    page.sid = state.session;
    page.dataVersion = -1;
    page.history = [];
    applyState(state);
    fillSettings(state.settings);
    await loadPoints();
    openStream();
  })();
  try { await page.starting; } finally { page.starting = null; }
}

function openStream() {
  const source = new EventSource(sessionPath("/stream"));
  page.source = source;
  source.addEventListener("frame", (ev) => applyFrame(JSON.parse(ev.data)));
  source.addEventListener("expired", (ev) => {
    source.close();
    const data = JSON.parse(ev.data);
    showError(data.error, "play");
    $("status").textContent = "expired";
  });
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) $("status").textContent = "disconnected: reload the page";
  };
}

window.addEventListener("pagehide", () => {
  if (page.sid) navigator.sendBeacon(sessionPath("/close"));
});

// --------------------------------------------------------------------------------------- settings UI
function fillChoices(choices) {
  const names = { upload: "your CSV (upload one)" };
  const fill = (id, values, label) => {
    const sel = $(id);
    sel.innerHTML = "";
    for (const v of values) {
      const o = document.createElement("option");
      o.value = v; o.textContent = label ? label(v) : v;
      sel.appendChild(o);
    }
  };
  fill("dataset", choices.dataset, (v) => names[v] || v);
  fill("activation", choices.activation);
  fill("head", choices.head, (v) => v.replace("+", " + ").replace("cross_entropy", "cross-entropy")
    .replace("mse", "squared error"));
  fill("optimizer", choices.optimizer, (v) => ({ sgd: "SGD", momentum: "SGD + momentum",
    nesterov: "SGD + Nesterov", adam: "Adam" })[v] || v);
  fill("init", choices.init, (v) => ({ auto: "auto (Glorot; He for ReLU)", normal: "normal N(0, σ²)",
    glorot: "Glorot", he: "He" })[v] || v);
}

function fillSettings(s) {
  for (const el of document.querySelectorAll("[data-setting]")) {
    const v = s[el.dataset.setting];
    el.value = v === null || v === undefined ? "" : String(v);
  }
  $("momentum").disabled = !(s.optimizer === "momentum" || s.optimizer === "nesterov");
  $("init-scale").disabled = s.init !== "normal";
  const toy = s.dataset !== "upload";
  for (const id of ["noise", "n-samples"]) $(id).disabled = !toy;
  $("label-column").value = s.label_column || "";
}

async function changeSetting(el) {
  const key = el.dataset.setting;
  let value = el.value;
  if (el.type === "number" && value !== "" && key !== "batch_size") value = Number(value);
  if (key === "dataset" && value === "upload" && !(page.state && page.state.data_name)) {
    showError("dataset: choose a CSV file below first", "upload");
    fillSettings(page.state.settings);
    return;
  }
  const field = el.closest("[data-field]").dataset.field;
  const state = await act(() => api("PUT", sessionPath("/settings"), { [key]: value }), field);
  if (state) { applyState(state); fillSettings(state.settings); await loadPoints(); }
}

// ------------------------------------------------------------------------------------------ frames
function applyState(st) {
  page.state = st;
  $("epoch").textContent = String(st.epoch);
  $("train-loss").textContent = fmt(st.train_loss);
  $("test-loss").textContent = fmt(st.test_loss);
  $("train-accuracy").textContent = fmt(st.train_accuracy, 3);
  $("test-accuracy").textContent = fmt(st.test_accuracy, 3);
  $("status").textContent = st.status + (st.data_name ? ` · ${st.data_name}` : "");
  $("play").classList.toggle("active", st.running);
  $("pause").classList.toggle("active", !st.running);
  if (st.error) showError(st.error.message, st.error.field);
  $("show-gradients").checked = st.gradients;
}

function applyFrame(f) {
  const prev = page.state;
  applyState(f);
  if (prev && prev.error && !f.error) clearError();
  if (f.history_reset) page.history = [];
  page.history.push(...f.history);
  if (f.earlier_runs) page.earlier = f.earlier_runs;
  if (f.data_version !== page.dataVersion) {
    fillSettings(f.settings);
    loadPoints();
  }
  page.frame = f;
  drawBoundary();
  drawDiagram();
  drawCurves();
  drawConfusion("confusion-train", f.confusion.train, f.class_names);
  drawConfusion("confusion-test", f.confusion.test, f.class_names);
}

async function loadPoints() {
  if (!page.state) return;
  const version = page.state.data_version;
  const pts = await act(() => api("GET", sessionPath("/points")));
  if (!pts) return;
  page.points = pts;
  page.dataVersion = version;
  const legend = $("legend");
  legend.innerHTML = "";
  pts.class_names.forEach((name, k) => {
    const span = document.createElement("span");
    span.innerHTML = `<i style="background:${classColor(k)}"></i>`;
    span.appendChild(document.createTextNode(name));
    legend.appendChild(span);
  });
  const counts = document.createElement("span");
  counts.textContent = `${pts.n_train} train (white rim), ${pts.n_test} test (dark rim)`;
  legend.appendChild(counts);
  const canvas = $("boundary");
  canvas.dataset.classColors = JSON.stringify(pts.class_names.map((_, k) => rgbOf(classColor(k))));
  canvas.dataset.classNames = JSON.stringify(pts.class_names);
  const flat = pts.extent === null;
  canvas.hidden = flat;
  $("no-boundary").hidden = !flat;
  $("export-model").href = sessionPath("/model.safetensors");
  $("export-data").href = sessionPath("/data.csv");
  drawBoundary();
}

// ---------------------------------------------------------------------------------------- boundary
function drawBoundary() {
  const f = page.frame, pts = page.points, canvas = $("boundary");
  const ctx = canvas.getContext("2d");
  if (!f || !f.boundary || !pts || !pts.extent) return;
  const b = f.boundary, n = b.n;
  const cls = decode(b.class), strength = decode(b.strength);
  const img = new ImageData(n, n);
  const colors = pts.class_names.map((_, k) => rgbOf(classColor(k)));
  for (let i = 0; i < n * n; i++) {
    const c = colors[cls[i]] || [128, 128, 128];
    const a = 0.1 + 0.55 * (strength[i] / 255);  // white where undecided, the class colour where certain
    img.data[4 * i] = 255 + (c[0] - 255) * a;
    img.data[4 * i + 1] = 255 + (c[1] - 255) * a;
    img.data[4 * i + 2] = 255 + (c[2] - 255) * a;
    img.data[4 * i + 3] = 255;
  }
  page.boundaryImage = { cls, strength, n };
  const off = document.createElement("canvas");
  off.width = n; off.height = n;
  off.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
  const [x0, x1, y0, y1] = b.extent;
  const px = (x) => ((x - x0) / (x1 - x0)) * canvas.width;
  const py = (y) => ((y1 - y) / (y1 - y0)) * canvas.height;
  const dot = (p, rim) => {
    ctx.beginPath();
    ctx.arc(px(p[0]), py(p[1]), 3, 0, 2 * Math.PI);
    ctx.fillStyle = classColor(p[2]);
    ctx.fill();
    ctx.lineWidth = 1;
    ctx.strokeStyle = rim;
    ctx.stroke();
  };
  for (const p of pts.train || []) dot(p, "#fff");
  for (const p of pts.test || []) dot(p, "#222");
}

function boundaryHover(ev) {
  const f = page.frame, canvas = $("boundary"), tip = $("tooltip");
  if (!f || !f.boundary || !page.boundaryImage) return;
  const r = canvas.getBoundingClientRect();
  const u = (ev.clientX - r.left) / r.width, v = (ev.clientY - r.top) / r.height;
  const [x0, x1, y0, y1] = f.boundary.extent, n = page.boundaryImage.n;
  const i = Math.min(n - 1, Math.floor(v * n)) * n + Math.min(n - 1, Math.floor(u * n));
  const k = page.boundaryImage.cls[i], s = page.boundaryImage.strength[i] / 255;
  canvas.title = `x₁ = ${(x0 + u * (x1 - x0)).toFixed(2)}, x₂ = ${(y1 - v * (y1 - y0)).toFixed(2)}: ` +
    `${f.class_names[k]} (certainty ${s.toFixed(2)})`;
  tip.hidden = true;
}

// ----------------------------------------------------------------------------------------- diagram
function heat(value) {  // value in [-1, 1] → orange … white … blue
  const c = value < 0 ? NEG : POS, a = Math.min(1, Math.abs(value));
  return [255 + (c[0] - 255) * a, 255 + (c[1] - 255) * a, 255 + (c[2] - 255) * a];
}

function unitImage(values, n, scale) {
  const img = new ImageData(n, n);
  for (let i = 0; i < n * n; i++) {
    const c = heat(values[i] / 127);
    img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2]; img.data[4 * i + 3] = 255;
  }
  const off = document.createElement("canvas");
  off.width = n; off.height = n;
  off.getContext("2d").putImageData(img, 0, 0);
  return off;
}

function probabilityImage(values, n, color) {  // p in [0, 1] (as int8 of 127 p) → white … the class colour
  const c = rgbOf(color), img = new ImageData(n, n);
  for (let i = 0; i < n * n; i++) {
    const a = Math.max(0, values[i]) / 127;
    img.data[4 * i] = 255 + (c[0] - 255) * a; img.data[4 * i + 1] = 255 + (c[1] - 255) * a;
    img.data[4 * i + 2] = 255 + (c[2] - 255) * a; img.data[4 * i + 3] = 255;
  }
  const off = document.createElement("canvas");
  off.width = n; off.height = n;
  off.getContext("2d").putImageData(img, 0, 0);
  return off;
}

function inputImage(axis, n) {  // x₁ or x₂ itself over the plane
  const img = new ImageData(n, n);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) {
    const v = axis === 0 ? (2 * c + 1) / n - 1 : 1 - (2 * r + 1) / n;
    const col = heat(v), i = r * n + c;
    img.data[4 * i] = col[0]; img.data[4 * i + 1] = col[1]; img.data[4 * i + 2] = col[2]; img.data[4 * i + 3] = 255;
  }
  const off = document.createElement("canvas");
  off.width = n; off.height = n;
  off.getContext("2d").putImageData(img, 0, 0);
  return off;
}

function labName(layer, nLayers, kind) {  // layer 1..L: W_h (or W_h1…) for hidden layers, W_y for the output
  if (layer === nLayers) return `${kind}_y`;
  return nLayers === 2 ? `${kind}_h` : `${kind}_h${layer}`;
}

function drawDiagram() {
  const f = page.frame, canvas = $("diagram");
  if (!f) return;
  const net = f.network, shown = net.shown, L = shown.length;
  const box = 26, gap = 8;
  const tallest = Math.max(...shown);
  const width = canvas.clientWidth || 560;
  const height = Math.max(120, tallest * (box + gap) + 30);
  if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, width, height);
  const xs = shown.map((_, l) => 20 + (l * (width - 40 - box)) / Math.max(1, L - 1));
  const ys = shown.map((n) => Array.from({ length: n }, (_, i) => 22 + (height - 30 - n * (box + gap)) / 2 + i * (box + gap)));
  const useGrads = f.gradients && net.grad_weights;
  const mats = useGrads ? net.grad_weights : net.weights;
  page.diagramHits = [];
  for (let l = 1; l < L; l++) {
    const W = mats[l - 1];
    let maxAbs = 1e-12;
    for (const row of W) for (const w of row) if (w !== null) maxAbs = Math.max(maxAbs, Math.abs(w));
    const norm = useGrads ? maxAbs : Math.max(1, maxAbs);
    for (let i = 0; i < shown[l - 1]; i++) for (let j = 0; j < shown[l]; j++) {
      const w = W[i][j];
      if (w === null) continue;
      const x0 = xs[l - 1] + box, y0 = ys[l - 1][i] + box / 2, x1 = xs[l], y1 = ys[l][j] + box / 2;
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      ctx.lineTo(x1, y1);
      ctx.strokeStyle = w >= 0 ? "rgba(8,119,189,0.75)" : "rgba(245,147,34,0.75)";
      ctx.lineWidth = 0.3 + 4 * Math.min(1, Math.abs(w) / norm);
      ctx.stroke();
      const what = useGrads ? "∂L/∂" : "";
      page.diagramHits.push({ kind: "edge", x0, y0, x1, y1,
        text: `${what}${labName(l, L - 1 + 0, "W")}[${i + 1},${j + 1}] = ${w}` });
    }
  }
  const nx = net.sizes[0];
  const neurons = new Map();
  for (const m of f.neurons || []) neurons.set(`${m.layer}:${m.unit}`, m);
  const ng = Math.round(Math.sqrt((f.neurons && f.neurons[0]) ? decode(f.neurons[0].values, true).length : 0));
  for (let l = 0; l < L; l++) {
    for (let i = 0; i < shown[l]; i++) {
      const x = xs[l], y = ys[l][i];
      let text;
      if (l === 0) {
        if (nx === 2 && f.boundary) ctx.drawImage(inputImage(i, 16), x, y, box, box);
        else { ctx.fillStyle = "#eee"; ctx.fillRect(x, y, box, box); }
        text = `input x${i + 1}`;
      } else if (l === L - 1) {
        const m = neurons.get(`${l}:${i}`);
        if (m && ng) ctx.drawImage(probabilityImage(decode(m.values, true), ng, classColor(i)), x, y, box, box);
        else { ctx.fillStyle = classColor(i); ctx.fillRect(x, y, box, box); }
        const bias = net.biases[l - 1][i];
        text = `output ŷ[${i + 1}] (${f.class_names[i] || i + 1}): b_y[${i + 1}] = ${bias}` +
          (m ? " (heatmap: ŷ over the plane, white 0 … class colour 1)" : "");
      } else {
        const m = neurons.get(`${l}:${i}`);
        if (m && ng) ctx.drawImage(unitImage(decode(m.values, true), ng, m.scale), x, y, box, box);
        else { ctx.fillStyle = "#eee"; ctx.fillRect(x, y, box, box); }
        const bias = net.biases[l - 1][i];
        text = `unit h${L > 3 ? l : ""}[${i + 1}]: ${labName(l, L - 1, "b")}[${i + 1}] = ${bias}` +
          (m ? ` (heatmap: h over the plane, |h| ≤ ${m.scale.toPrecision(3)})` : "");
      }
      ctx.strokeStyle = "#999"; ctx.lineWidth = 1; ctx.strokeRect(x + 0.5, y + 0.5, box - 1, box - 1);
      page.diagramHits.push({ kind: "unit", x, y, w: box, h: box, text });
    }
    ctx.fillStyle = "#666"; ctx.font = "11px system-ui";
    const label = l === 0 ? `x (${net.sizes[0]})` : l === L - 1 ? `ŷ (${net.sizes[l]})` : `h${L > 3 ? l : ""} (${net.sizes[l]})`;
    ctx.fillText(label, xs[l], 12);
  }
}

function diagramHover(ev) {
  const canvas = $("diagram"), tip = $("tooltip");
  const r = canvas.getBoundingClientRect();
  const x = ((ev.clientX - r.left) * canvas.width) / r.width, y = ((ev.clientY - r.top) * canvas.height) / r.height;
  let best = null, bestD = 5;
  for (const h of page.diagramHits) {
    if (h.kind === "unit") {
      if (x >= h.x && x <= h.x + h.w && y >= h.y && y <= h.y + h.h) { best = h; break; }
    } else {
      const dx = h.x1 - h.x0, dy = h.y1 - h.y0;
      const t = Math.max(0, Math.min(1, ((x - h.x0) * dx + (y - h.y0) * dy) / (dx * dx + dy * dy)));
      const d = Math.hypot(x - (h.x0 + t * dx), y - (h.y0 + t * dy));
      if (d < bestD) { bestD = d; best = h; }
    }
  }
  if (!best) { tip.hidden = true; return; }
  tip.textContent = best.text;
  tip.hidden = false;
  tip.style.left = `${ev.clientX - r.left + 12}px`;
  tip.style.top = `${ev.clientY - r.top + canvas.offsetTop + 8}px`;
}

// ------------------------------------------------------------------------------------------ curves
function drawLines(canvas, series, yMax, yLabel) {
  const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height, pad = 24;
  ctx.clearRect(0, 0, W, H);
  let xMax = 1;
  for (const s of series) if (s.x.length) xMax = Math.max(xMax, s.x[s.x.length - 1]);
  ctx.strokeStyle = "#ccc"; ctx.lineWidth = 1;
  ctx.strokeRect(pad + 0.5, 4.5, W - pad - 5, H - pad - 4);
  ctx.fillStyle = "#666"; ctx.font = "10px system-ui";
  ctx.fillText(yMax.toPrecision(2), 2, 12);
  ctx.fillText("0", 2, H - pad);
  ctx.fillText(`epoch ${xMax}`, W - 60, H - 8);
  ctx.fillText(yLabel, pad + 4, H - 8);
  const px = (x) => pad + (x / xMax) * (W - pad - 6), py = (y) => 5 + (1 - Math.min(y, yMax) / yMax) * (H - pad - 6);
  for (const s of series) {
    ctx.beginPath();
    ctx.setLineDash(s.dash || []);
    ctx.strokeStyle = s.color; ctx.lineWidth = s.width || 1.5;
    let started = false;
    for (let i = 0; i < s.x.length; i++) {
      const y = s.y[i];
      if (y === null || y === undefined) { started = false; continue; }
      if (!started) { ctx.moveTo(px(s.x[i]), py(y)); started = true; } else ctx.lineTo(px(s.x[i]), py(y));
    }
    ctx.stroke();
  }
  ctx.setLineDash([]);
}

function drawCurves() {
  const h = page.history, x = h.map((e) => e.epoch);
  const grey = ["#999", "#b58", "#5a5", "#a85", "#58a", "#777"];
  const series = [];
  page.earlier.forEach((r, i) => {
    series.push({ x: r.epoch, y: r.test_loss, color: grey[i % grey.length], width: 1, dash: [3, 3] });
  });
  series.push({ x, y: h.map((e) => e.train_loss), color: "#183d4e", width: 2 });
  series.push({ x, y: h.map((e) => e.test_loss), color: "#183d4e", width: 1.5, dash: [5, 3] });
  let yMax = 0.1;
  for (const s of series) for (const v of s.y) if (v !== null && Number.isFinite(v)) yMax = Math.max(yMax, v);
  drawLines($("curves"), series, Math.min(yMax, 10), "loss: train —, test - -, earlier runs grey (test)");
  drawLines($("accuracy"), [
    { x, y: h.map((e) => e.train_accuracy), color: "#0877bd", width: 2 },
    { x, y: h.map((e) => e.test_accuracy), color: "#0877bd", width: 1.5, dash: [5, 3] },
  ], 1, "accuracy");
  const legend = $("runs-legend");
  legend.innerHTML = "";
  page.earlier.forEach((r, i) => {
    const span = document.createElement("span");
    span.innerHTML = `<i style="background:${grey[i % grey.length]}"></i>`;
    span.appendChild(document.createTextNode(r.label));
    legend.appendChild(span);
  });
}

function drawConfusion(id, matrix, names) {
  const table = $(id);
  const k = matrix.length;
  if (k > 12) { table.innerHTML = `<tr><td>${k} classes: see the exported model's evaluation</td></tr>`; return; }
  let html = "<tr><th>true \\ pred</th>" + names.map((n) => `<th title="${n}">${n}</th>`).join("") + "</tr>";
  matrix.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    html += `<tr><th title="${names[i]}">${names[i]}</th>` + row.map((v, j) => {
      const a = v / total, c = i === j ? POS : NEG;
      const bg = `rgba(${c[0]},${c[1]},${c[2]},${(0.6 * a).toFixed(2)})`;
      return `<td style="background:${bg}">${v}</td>`;
    }).join("") + "</tr>";
  });
  table.innerHTML = html;
}

// ---------------------------------------------------------------------------------- inside views
function vectorText(values, n) {
  const shown = values.map((v) => (v === null ? "nan" : Number(v).toFixed(4))).join("  ");
  return `[${shown}${n > values.length ? `  … (${n} in all)` : ""}]`;
}

async function showExample() {
  const split = $("example-split").value, index = Number($("example-index").value || 0);
  const ex = await act(() => api("GET", sessionPath(`/example?split=${split}&index=${index}`)), "example");
  if (!ex) return;
  const rows = (items) => items.map((r) => {
    const val = r.shape ? r.values.map((row) => vectorText(row, r.shape[1])).join("<br>") +
      (r.shape[0] > r.values.length ? `<br>… (${r.shape[0]} rows)` : "") : vectorText(r.values, r.n);
    return `<tr><th>${r.name}</th><td class="formula">${r.formula}</td><td>${val}</td></tr>`;
  }).join("");
  $("example").innerHTML =
    `<p>${split} example ${index} at epoch ${ex.epoch}: x = (${ex.x_raw.join(", ")}), class <b>${ex.class}</b>, ` +
    `predicted <b>${ex.predicted}</b>, loss l = ${ex.loss.toFixed(5)}</p>` +
    `<h3>forward</h3><table>${rows(ex.forward)}</table><h3>backward</h3><table>${rows(ex.backward)}</table>` +
    `<p class="formula">${ex.note}` +
    (ex.delta_minus_residual !== null ? `; max |δ_y − (ŷ − y)| = ${ex.delta_minus_residual.toExponential(1)}` : "") + "</p>";
}

async function gradientCheck() {
  const out = $("gradcheck-result");
  out.textContent = "checking…";
  const r = await act(() => api("POST", sessionPath("/gradcheck")), "gradcheck");
  if (!r) { out.textContent = ""; return; }
  out.innerHTML = `<h3>gradient check at epoch ${r.epoch}: backprop against central finite differences ` +
    `(float64 copy, ${r.rows} training rows, ${r.n_params} parameters)</h3><table><tr><th>tensor</th>` +
    "<th>max |backprop − numeric|</th><th>max relative error</th><th></th></tr>" +
    r.tensors.map((t) => `<tr><td>${t.name} (${t.tensor})</td><td>${t.max_abs === null ? "nan" : t.max_abs.toExponential(2)}</td>` +
      `<td>${t.max_rel === null ? "nan" : t.max_rel.toExponential(2)}</td>` +
      `<td class="${t.ok ? "ok" : "bad"}">${t.ok ? "agrees" : "differs"}</td></tr>`).join("") + "</table>";
}

async function copyCommand() {
  const r = await act(() => api("GET", sessionPath("/command")), "export");
  if (!r) return;
  const note = r.data_name ? `\n# run it beside ${r.data_name} (Export → Data)` : "";
  $("command").value = r.command + note;
  $("command").select();
  try { await navigator.clipboard.writeText(r.command); } catch (e) { /* the text stays selected to copy by hand */ }
}

async function upload(input) {
  const file = input.files && input.files[0];
  if (!file) return;
  const label = $("label-column").value.trim();
  const query = `?name=${encodeURIComponent(file.name)}` + (label ? `&label_column=${encodeURIComponent(label)}` : "");
  const state = await act(() => api("POST", sessionPath("/upload" + query), undefined, file), "upload");
  input.value = "";
  if (state) { applyState(state); fillSettings(state.settings); await loadPoints(); }
}

// ------------------------------------------------------------------------------------------- wire
async function main() {
  page.choices = await api("GET", "/api/choices");
  fillChoices(page.choices);
  for (const el of document.querySelectorAll("[data-setting]")) el.addEventListener("change", () => changeSetting(el));
  const control = (name) => async () => {
    const st = await act(() => api("POST", sessionPath(`/${name}`)), "play");
    if (st) applyState(st);
  };
  $("play").addEventListener("click", control("play"));
  $("pause").addEventListener("click", control("pause"));
  $("step").addEventListener("click", control("step"));
  $("reset").addEventListener("click", control("reset"));
  $("speed").addEventListener("change", () => act(() => api("PUT", sessionPath("/view"), { speed: Number($("speed").value) }), "speed"));
  $("show-gradients").addEventListener("change", () =>
    act(() => api("PUT", sessionPath("/view"), { gradients: $("show-gradients").checked }), "play"));
  $("upload").addEventListener("change", () => upload($("upload")));
  $("copy-command").addEventListener("click", copyCommand);
  $("show-example").addEventListener("click", showExample);
  $("gradcheck").addEventListener("click", gradientCheck);
  $("diagram").addEventListener("mousemove", diagramHover);
  $("diagram").addEventListener("mouseleave", () => { $("tooltip").hidden = true; });
  $("boundary").addEventListener("mousemove", boundaryHover);
  await startSession();
  for (const id of ["play", "pause", "step", "reset"]) $(id).disabled = false;  // usable once a session exists
}

main().catch((err) => showError(`could not start: ${err.message}`, "play"));
