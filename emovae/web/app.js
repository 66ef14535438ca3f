// The emotion plane: click -> /api/at -> play the WAV, show the score, mark the point.
// Plain JavaScript, no library; everything comes from this server (see emovae/server/).
"use strict";

const COLORS = { happy: "#e69f00", angry: "#d1352b", sad: "#2f6fb3", relaxed: "#2e9e5b" };
const SIZE = 640, MARGIN = 44, SVGNS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

// State the tests and the benchmark read: plays (playing events), latencies (ms from click to
// the audio's 'playing' event, performance.now()), the last melody, errors.
const state = window.emovae = {
  ready: false, info: null, model: null, view: 7, limit: 8, seed: 0, plays: 0, latencies: [], lastLatencyMs: null,
  errors: [], lastMelody: null, last: null, upload: null, marks: 0, pending: null,
};

function toXY(v, a) {
  const w = SIZE - 2 * MARGIN;
  return [MARGIN + (v + state.view) / (2 * state.view) * w, MARGIN + (state.view - a) / (2 * state.view) * w];
}

function toVA(evt) {
  const svg = $("plane"), pt = svg.createSVGPoint();
  pt.x = evt.clientX; pt.y = evt.clientY;
  const p = pt.matrixTransform(svg.getScreenCTM().inverse());
  const w = SIZE - 2 * MARGIN, clamp = (x) => Math.max(-state.limit, Math.min(state.limit, x));
  return [clamp((p.x - MARGIN) / w * 2 * state.view - state.view), clamp(state.view - (p.y - MARGIN) / w * 2 * state.view)];
}

// where (valence, arousal) is on screen, in CSS pixels of the viewport (for tests)
state.clientPoint = (v, a) => {
  const [x, y] = toXY(v, a), m = $("plane").getScreenCTM();
  return [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f];
};

function el(name, attrs, parent, text) {
  const e = document.createElementNS(SVGNS, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

function setStatus(text, isError) {
  const s = $("status");
  s.textContent = text;
  s.classList.toggle("error", !!isError);
}

async function api(path, options) {
  const res = await fetch(path, options);
  let body = null;
  try { body = await res.json(); } catch (e) { body = { error: `${res.status} ${res.statusText}` }; }
  if (!res.ok) throw new Error(body && body.error ? body.error : `${res.status} ${res.statusText}`);
  return body;
}

const post = (path, data) => api(path, {
  method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data),
});

function fmt(p) { return `(${p[0] >= 0 ? "+" : ""}${p[0].toFixed(2)}, ${p[1] >= 0 ? "+" : ""}${p[1].toFixed(2)})`; }
function temperature() { return parseFloat($("temperature").value); }

// ------------------------------------------------------------------------------- the plane
function drawPlane(info) {
  const quads = $("quads"), grid = $("grid"), labels = $("labels"), w = SIZE - 2 * MARGIN, mid = MARGIN + w / 2;
  quads.innerHTML = ""; grid.innerHTML = ""; labels.innerHTML = "";
  for (const q of info.quadrants) {
    const x = q.valence_sign > 0 ? mid : MARGIN, y = q.arousal_sign > 0 ? MARGIN : mid;
    el("rect", { x, y, width: w / 2, height: w / 2, fill: COLORS[q.emotion], class: "quad" }, quads);
    const tx = q.valence_sign > 0 ? MARGIN + w - 8 : MARGIN + 8, ty = q.arousal_sign > 0 ? MARGIN + 22 : MARGIN + w - 12;
    el("text", { x: tx, y: ty, class: "quad-name", "text-anchor": q.valence_sign > 0 ? "end" : "start",
                 fill: COLORS[q.emotion] }, labels, `${q.quadrant} ${q.emotion}`);
  }
  for (let k = -Math.floor(state.view); k <= Math.floor(state.view); k++) {
    const [x] = toXY(k, 0), [, y] = toXY(0, k);
    el("line", { x1: x, y1: MARGIN, x2: x, y2: MARGIN + w, class: k === 0 ? "axis" : "gridline" }, grid);
    el("line", { x1: MARGIN, y1: y, x2: MARGIN + w, y2: y, class: k === 0 ? "axis" : "gridline" }, grid);
    if (k % 2 === 0 && k !== 0) {
      el("text", { x, y: MARGIN + w + 16, class: "tick", "text-anchor": "middle" }, grid, k);
      el("text", { x: MARGIN - 6, y: y + 4, class: "tick", "text-anchor": "end" }, grid, k);
    }
  }
  el("rect", { x: MARGIN, y: MARGIN, width: w, height: w, class: "frame" }, grid);
  el("text", { x: MARGIN + w, y: MARGIN + w + 34, class: "axis-title", "text-anchor": "end" }, grid, "valence →");
  el("text", { x: 14, y: MARGIN, class: "axis-title", transform: `rotate(-90 14 ${MARGIN})`, "text-anchor": "end" },
     grid, "arousal →");
}

function drawLegend() {
  const box = $("legend");
  box.innerHTML = Object.entries(COLORS).map(([n, c]) => `<span><i style="background:${c}"></i>${n}</span>`).join("")
    + '<span class="hint">● training melody &nbsp; ◯ generated &nbsp; ◆ your file</span>';
}

async function loadDots() {
  const dots = $("dots");
  dots.innerHTML = "";
  const data = await api(`/api/training?model=${encodeURIComponent(state.model)}`);
  if (!data.available) { setStatus(`Ready. (${data.reason})`); return 0; }
  for (const d of data.dots) {
    const [x, y] = toXY(d.point[0], d.point[1]);
    const c = el("circle", { cx: x, cy: y, r: 4, fill: COLORS[d.emotion], class: "dot", "data-index": d.index }, dots);
    el("title", {}, c, `${d.file} (${d.emotion}) ${fmt(d.point)}`);
    c.addEventListener("pointerdown", (e) => { e.stopPropagation(); });
    c.addEventListener("click", (e) => { e.stopPropagation(); playTraining(d); });
    c.addEventListener("mouseenter", () => showHover(x, y, d.file));
    c.addEventListener("mouseleave", () => showHover());
  }
  return data.dots.length;
}

function showHover(x, y, text) {
  const h = $("hover");
  if (!text) { h.textContent = ""; return; }
  h.textContent = text;
  h.setAttribute("x", Math.min(x + 8, SIZE - 150)); h.setAttribute("y", y - 8);
}

// ------------------------------------------------------------------------------- marks
function mark(point, emotion, shape, label) {
  const marks = $("marks");
  for (const old of marks.querySelectorAll(".current")) old.classList.remove("current");
  const [x, y] = toXY(point[0], point[1]);
  const g = el("g", { class: "mark current", "data-emotion": emotion }, marks);
  if (shape === "diamond") {
    el("rect", { x: x - 7, y: y - 7, width: 14, height: 14, transform: `rotate(45 ${x} ${y})`, fill: COLORS[emotion] }, g);
  } else {
    el("circle", { cx: x, cy: y, r: 8, fill: COLORS[emotion] }, g);
  }
  if (label !== undefined) el("text", { x, y: y + 4, "text-anchor": "middle", class: "mark-label" }, g, label);
  while (marks.children.length > 40) marks.removeChild(marks.firstChild);
  state.marks = marks.children.length;
  return g;
}

function trail(points, cls) {
  const p = points.map(([v, a]) => toXY(v, a).join(",")).join(" ");
  el("polyline", { points: p, class: cls }, $("trails"));
}

function clearMarks() { $("marks").innerHTML = ""; $("trails").innerHTML = ""; state.marks = 0; }

// ------------------------------------------------------------------------------- playing
function play(url, t0) {
  const audio = $("player");
  audio.muted = false;
  state.pending = t0;
  audio.src = url;
  const started = audio.play();
  if (started && started.catch) {
    started.catch((err) => {
      if (err && err.name === "AbortError") return;  // a newer click replaced this one
      setStatus(`Press ▶ to listen (the browser blocked autoplay: ${err.name || err})`);
    });
  }
}

function quadrantOf(v, a) {
  return a >= 0 ? (v >= 0 ? "happy" : "angry") : (v >= 0 ? "relaxed" : "sad");
}

// resolves when the player starts playing, fails to load, or after `ms`
function soundStarted(ms) {
  const audio = $("player");
  return new Promise((resolve) => {
    let timer = null;
    const done = () => {
      audio.removeEventListener("playing", done);
      audio.removeEventListener("error", done);
      clearTimeout(timer);
      resolve();
    };
    audio.addEventListener("playing", done);
    audio.addEventListener("error", done);
    timer = setTimeout(done, ms);
  });
}

function onPlaying() {
  if ($("player").muted) return;   // the silent warm-up
  state.plays += 1;
  if (state.pending !== null) {
    state.lastLatencyMs = performance.now() - state.pending;
    state.latencies.push(state.lastLatencyMs);
    state.pending = null;
  }
}

let scoreTicket = 0;
function showScore(m) {
  const ticket = ++scoreTicket;
  if (m.svg) { $("score").innerHTML = m.svg; return; }
  fetch(m.svg_url).then((r) => (r.ok ? r.text() : Promise.reject(new Error(`score: ${r.status}`))))
    .then((svg) => { if (ticket === scoreTicket) $("score").innerHTML = svg; })
    .catch((err) => state.errors.push(String(err.message || err)));
}

function show(m, t0, what, playing) {
  state.lastMelody = m;
  if (!playing) play(m.wav_url, t0);
  showScore(m);
  const a = $("download");
  a.href = m.midi_url; a.download = `${m.name}.mid`; a.hidden = false;
  $("another").disabled = false;
  setStatus(`${what} · ${m.bars} bars, ${m.notes.length} notes · ${titleOf(m.model)}`
            + (m.temperature ? ` · T ${Number(m.temperature).toFixed(1)}` : "") + ` · seed ${m.seed ?? 0}`);
}

function titleOf(key) {
  const b = document.querySelector(`#models input[value="${key}"]`);
  return b ? b.dataset.title : key;
}

async function run(action, t0, remember = true) {
  if (remember) state.last = action;
  try {
    await action(t0);
  } catch (err) {
    state.errors.push(String(err.message || err));
    setStatus(String(err.message || err), true);
  }
}

// ------------------------------------------------------------------------------- actions
function atAction(v, a, jitter) {
  const action = async (t0) => {
    const ask = { model: state.model, valence: v, arousal: a, seed: state.seed, temperature: temperature(),
                  jitter: jitter || 0 };
    // the sound first: GET /api/at.wav decodes the same melody as POST /api/at, without a round
    // trip; the JSON (marker, notes, score) is asked for once the sound starts, so that the two
    // do not compete for the server's two cores. The clicked point is marked at once meanwhile.
    play(`/api/at.wav?${new URLSearchParams(ask)}`, t0);
    const provisional = mark([v, a], quadrantOf(v, a), "circle");
    await soundStarted(400);
    let m;
    try {
      m = await post("/api/at", { ...ask, svg: false });
    } finally {
      provisional.remove();
    }
    mark(m.point, m.emotion, "circle");
    show(m, t0, `${m.emotion} at ${fmt(m.point)}` + (jitter ? ` (near ${fmt([v, a])})` : ""), true);
  };
  return Object.assign(action, { kind: "at", v, a });
}

function pathAction(points) {
  return async (t0) => {
    const bars = parseInt($("bars").value, 10);
    const m = await post("/api/path", { model: state.model, points, bars, seed: state.seed, temperature: temperature(),
                                            svg: false });
    trail(points, "path-drawn");
    trail(m.points, "path-segments");
    m.points.forEach((p, k) => mark(p, m.emotions[k], "circle", k + 1));
    show(m, t0, `path: ${m.emotions.join(" → ")}`);
  };
}

// what the current model offers for drawing: its samplers (a choice where there are two), the copy guard
function modelInfo() {
  return state.info ? state.info.models.find((m) => m.key === state.model) : null;
}

// the draw options that apply to the current model, as /api/generate takes them
function drawOptions() {
  const m = modelInfo(), out = {};
  if (m && m.samplers.length > 1) {
    out.sampler = $("sampler").value;
    if (out.sampler === "fitted") out.spread = parseFloat($("spread").value);
  }
  if (m && m.copy_guard) out.unique = $("unique").checked;
  return out;
}

// show the sampler, its spread and the copy guard only where the current model offers them
function updateDrawControls(resetSampler) {
  const m = modelInfo(), select = $("sampler");
  const several = !!m && m.samplers.length > 1;
  if (resetSampler) {
    select.innerHTML = "";
    for (const name of m ? m.samplers : []) {
      const o = document.createElement("option");
      o.value = name;
      o.textContent = name === "paper" ? "paper (around the quadrant centre)" : name === "fitted"
        ? "fitted (where the training melodies lie)" : name;
      select.appendChild(o);
    }
    if (m) select.value = m.default_sampler;
  }
  $("sampler-box").hidden = !several;
  $("spread-box").hidden = !(several && select.value === "fitted");
  $("unique-box").hidden = !(m && m.copy_guard);
  $("draw-options").hidden = $("sampler-box").hidden && $("unique-box").hidden;
}

function drawAction(emotion) {
  return async (t0) => {
    const r = await post("/api/generate", { model: state.model, emotion, n: 1, seed: state.seed,
                                            temperature: temperature(), svg: false, ...drawOptions() });
    const m = r.melodies[0];
    mark(m.point, m.emotion, "circle");
    show(m, t0, `${emotion} drawn at ${fmt(m.point)} (${r.sampler} sampler`
                + (r.spread && r.spread !== 1 ? `, spread ${r.spread}` : "") + (r.unique ? ", no copies" : "") + ")");
  };
}

function transformAction(to) {
  return async (t0) => {
    const up = state.upload;
    const m = await post("/api/transform", { model: state.model, tokens: up.tokens, to, seed: state.seed,
                                             temperature: temperature(), svg: false });
    m.points.forEach((p, k) => trail([up.points[k], p], "move"));
    m.points.forEach((p) => mark(p, to, "diamond"));
    show(m, t0, `your melody moved to ${to} ${fmt(m.point)}`);
  };
}

function placeUpload(m, t0) {
  state.upload = m;
  if (m.points.length > 1) trail(m.points, "path-segments");
  m.points.forEach((p, k) => mark(p, m.emotions[k], "diamond", m.points.length > 1 ? k + 1 : undefined));
  for (const b of document.querySelectorAll("#moves button")) b.disabled = false;
  show(m, t0, `${m.file}: ${m.verdicts.join("; ")}` + (m.warnings.length ? ` (${m.warnings.join("; ")})` : ""));
}

async function uploadFile(file, t0) {
  const form = new FormData();
  form.append("file", file);
  form.append("model", state.model);
  const m = await api("/api/upload", { method: "POST", body: form });
  placeUpload(m, t0);
}

async function playTraining(d) {
  const t0 = performance.now();
  try {
    const m = await api(`/api/training/${d.index}?svg=false&model=${encodeURIComponent(state.model)}`);
    state.lastMelody = m;
    play(`/api/training/${d.index}.wav`, t0);
    showScore(m);
    const a = $("download");
    a.href = m.midi_url; a.download = `${m.name}.mid`; a.hidden = false;
    setStatus(`training melody ${d.file} (${d.emotion}) at ${fmt(d.point)}`);
  } catch (err) {
    setStatus(String(err.message || err), true);
  }
}

// ------------------------------------------------------------------------------- input
function simplify(points, most) {
  if (points.length <= most) return points;
  const out = [];
  for (let k = 0; k < most; k++) out.push(points[Math.round(k * (points.length - 1) / (most - 1))]);
  return out;
}

function setupPlane() {
  const svg = $("plane"), drawing = $("drawing");
  let stroke = null;
  svg.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    stroke = { path: e.shiftKey || $("path-mode").checked, points: [toVA(e)] };
    if (stroke.path) { svg.setPointerCapture(e.pointerId); drawing.setAttribute("points", ""); }
  });
  svg.addEventListener("pointermove", (e) => {
    if (!stroke || !stroke.path) return;
    const p = toVA(e), q = stroke.points[stroke.points.length - 1];
    if (Math.hypot(p[0] - q[0], p[1] - q[1]) < 0.05) return;
    stroke.points.push(p);
    drawing.setAttribute("points", stroke.points.map(([v, a]) => toXY(v, a).join(",")).join(" "));
  });
  svg.addEventListener("pointerup", (e) => {
    if (!stroke) return;
    const t0 = performance.now(), s = stroke;
    stroke = null;
    drawing.setAttribute("points", "");
    const [v, a] = s.path && s.points.length > 1 ? [null, null] : toVA(e);
    state.seed = 0;
    if (s.path && s.points.length > 1) run(pathAction(simplify(s.points, 64)), t0);
    else run(atAction(v, a, 0), t0);
  });
}

function setupControls(info) {
  const box = $("models");
  box.innerHTML = "<span>Model</span>";
  for (const m of info.models) {
    const label = document.createElement("label");
    const pretty = m.key === "checkpoint" ? m.key : m.title;
    label.innerHTML = `<input type="radio" name="model" value="${m.key}" ${m.default ? "checked" : ""}> ${pretty}`;
    label.querySelector("input").dataset.title = pretty;
    label.title = m.title;
    box.appendChild(label);
  }
  box.addEventListener("change", async (e) => {
    state.model = e.target.value;
    updateDrawControls(true);
    clearMarks();
    await loadDots();
    setStatus(`Model: ${titleOf(state.model)}. Click the plane.`);
    if (state.upload) {
      const t0 = performance.now();
      run(async () => {
        const m = await post("/api/encode", { model: state.model, tokens: state.upload.tokens });
        placeUpload({ ...m, file: state.upload.file, warnings: [] }, t0);
      }, t0, false);
    }
  });
  $("temperature").addEventListener("input", () => {
    $("temperature-value").textContent = temperature().toFixed(1);
  });
  $("another").addEventListener("click", () => {
    if (!state.last) return;
    state.seed += 1;
    const t0 = performance.now();
    const last = state.last;
    // at temperature 0 a point always gives the same melody: move it a little (seeded) instead
    if (last.kind === "at") run(atAction(last.v, last.a, temperature() > 0 ? 0 : 0.6), t0);
    else run(last, t0);
  });
  for (const b of document.querySelectorAll("#draw button")) {
    b.addEventListener("click", () => { state.seed = 0; run(drawAction(b.dataset.emotion), performance.now()); });
  }
  $("sampler").addEventListener("change", () => updateDrawControls(false));
  $("spread").addEventListener("input", () => {
    $("spread-value").textContent = parseFloat($("spread").value).toFixed(2);
  });
  updateDrawControls(true);
  $("upload").addEventListener("change", (e) => {
    const file = e.target.files[0];
    if (file) run(async (t0) => uploadFile(file, t0), performance.now(), false);
  });
  for (const b of document.querySelectorAll("#moves button")) {
    b.addEventListener("click", () => { state.seed = 0; run(transformAction(b.dataset.to), performance.now()); });
  }
  $("player").addEventListener("playing", onPlaying);
}

// Start the browser's audio output before the first click (a muted, silent WAV may autoplay):
// otherwise the first click waits a few hundred ms for it.
function warmAudio() {
  const rate = 8000, n = 800, buf = new ArrayBuffer(44 + 2 * n), w = new DataView(buf);
  const text = (at, s) => [...s].forEach((c, i) => w.setUint8(at + i, c.charCodeAt(0)));
  text(0, "RIFF"); w.setUint32(4, 36 + 2 * n, true); text(8, "WAVEfmt "); w.setUint32(16, 16, true);
  w.setUint16(20, 1, true); w.setUint16(22, 1, true); w.setUint32(24, rate, true); w.setUint32(28, 2 * rate, true);
  w.setUint16(32, 2, true); w.setUint16(34, 16, true); text(36, "data"); w.setUint32(40, 2 * n, true);
  const audio = $("player");
  audio.muted = true;
  audio.src = URL.createObjectURL(new Blob([buf], { type: "audio/wav" }));
  const p = audio.play();
  if (p && p.catch) p.catch(() => {});
}

async function main() {
  try {
    const info = await api("/api/info");
    state.info = info;
    state.model = info.default_model;
    state.limit = info.plane_limit;
    state.view = Math.min(7, info.plane_limit);
    drawPlane(info);
    drawLegend();
    setupControls(info);
    setupPlane();
    warmAudio();
    const n = await loadDots();
    if (n) setStatus(`Ready: ${n} training melodies shown. Click the plane.`);
    state.ready = true;
  } catch (err) {
    setStatus(`Could not start: ${err.message || err}`, true);
  }
}

main();
