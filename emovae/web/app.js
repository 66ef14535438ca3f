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
  // every request belongs to a ticket (a counter bumped by each new action and each model switch)
  // and a model: a response for a ticket or a model the page has left is dropped (counted here)
  ticket: 0, dropped: 0,
  cursor: [0, 0], keyPath: null,  // the keyboard's cursor point and the path it is adding to (or null)
  history: [],                    // the last melodies made: {params, label}, newest first (at most 10)
  // the player: the WAV route of what plays (without tempo and sound: they are added by audioUrl)
  src: null, sounding: [],        // the notes (indexes into lastMelody.notes) under the playhead
  uploadLabel: null, uploadPicked: false, uploadWhy: "",  // the label your melody is placed with
};

class Stale extends Error {}
const ticket = () => ({ ticket: state.ticket, model: state.model });
const fresh = (tk) => !tk || (tk.ticket === state.ticket && tk.model === state.model);
// throws Stale where the page has left the state of this request (another action, another model)
function check(tk, m) {
  if (!fresh(tk) || (m && m.model !== undefined && m.model !== tk.model)) throw new Stale("stale response");
  return m;
}
const round3 = (x) => Math.round(x * 1000) / 1000;

function toXY(v, a) {
  const w = SIZE - 2 * MARGIN;
  return [MARGIN + (v + state.view) / (2 * state.view) * w, MARGIN + (state.view - a) / (2 * state.view) * w];
}

function toVA(evt) {
  const svg = $("plane"), pt = svg.createSVGPoint();
  pt.x = evt.clientX; pt.y = evt.clientY;
  const p = pt.matrixTransform(svg.getScreenCTM().inverse());
  const w = SIZE - 2 * MARGIN, clamp = (x) => Math.max(-state.limit, Math.min(state.limit, x));
  return [round3(clamp((p.x - MARGIN) / w * 2 * state.view - state.view)),
          round3(clamp(state.view - (p.y - MARGIN) / w * 2 * state.view))];
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

async function api(path, options, started) {
  const res = await (started || fetch(path, options));
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
    + '<span class="hint">'
    + '<span><svg width="10" height="10" aria-hidden="true"><circle cx="5" cy="5" r="3.5" fill="#888" opacity="0.6"/></svg>training melody</span> '
    + '<span><svg width="14" height="14" aria-hidden="true"><circle cx="7" cy="7" r="5.5" fill="#888" stroke="#111" stroke-width="1.5"/></svg>generated</span> '
    + '<span><svg width="14" height="14" aria-hidden="true"><rect x="3" y="3" width="8" height="8" transform="rotate(45 7 7)" fill="#888" stroke="#111" stroke-width="1.5"/></svg>your file</span>'
    + '</span>';
}

async function loadDots(tk, asked) {
  const dots = $("dots");
  dots.innerHTML = "";
  const data = await (asked || api(`/api/training?model=${encodeURIComponent(state.model)}`));
  if (tk && !fresh(tk)) return 0;   // another model was chosen meanwhile: its dots are coming
  dots.innerHTML = "";
  if (!data.available) { setStatus(`Ready. (${data.reason})`); return 0; }
  for (const d of data.dots) {
    const [x, y] = toXY(d.point[0], d.point[1]);
    const c = el("circle", { cx: x, cy: y, r: 4, fill: COLORS[d.emotion], class: "dot", "data-index": d.index }, dots);
    el("title", {}, c, `${d.file} (${d.emotion}) ${fmt(d.point)}`);
    // a dot plays its melody, except when a path is being drawn (a path may start on a dot)
    const drawing = (e) => e.shiftKey || $("path-mode").checked;
    c.addEventListener("pointerdown", (e) => { if (!drawing(e)) e.stopPropagation(); });
    c.addEventListener("click", (e) => { e.stopPropagation(); if (!drawing(e)) playTraining(d); });
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
  const g = el("g", { class: "mark current", "data-emotion": emotion, "data-model": state.model }, marks);
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

function clearMarks() {
  $("marks").innerHTML = ""; $("trails").innerHTML = ""; $("label-marks").innerHTML = ""; state.marks = 0;
}

// ------------------------------------------------------------------------------- playing
// a WAV route with the player's tempo and sound: ?bpm= (default 120) and ?synth=auto (the piano,
// FluidSynth on the server) where chosen; the quick synth (NumPy) is the routes' default
function audioUrl(url) {
  const u = new URL(url, location.href), bpm = tempo(), sound = $("sound").value;
  if (bpm !== 120) u.searchParams.set("bpm", String(bpm)); else u.searchParams.delete("bpm");
  if (sound === "auto") u.searchParams.set("synth", "auto"); else u.searchParams.delete("synth");
  return u.pathname + u.search;
}
function tempo() { return parseInt($("tempo").value, 10); }

function play(url, t0) {
  const audio = $("player");
  audio.muted = false;
  state.pending = t0;
  state.src = url;
  audio.src = audioUrl(url);
  $("play-stop").disabled = false;
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
  state.plays += 1;
  if (state.pending !== null) {
    state.lastLatencyMs = performance.now() - state.pending;
    state.latencies.push(state.lastLatencyMs);
    state.pending = null;
  }
}

// ------------------------------------------------------------------------------- the player
function updatePlayButton() {
  const audio = $("player"), b = $("play-stop"), playing = !audio.paused && !audio.ended;
  b.textContent = playing ? "■ Stop" : "▶ Play";
  b.setAttribute("aria-label", playing ? "stop the melody" : "play the melody");
}

function playStop() {
  const audio = $("player");
  if (!audio.getAttribute("src")) return;
  if (!audio.paused && !audio.ended) { audio.pause(); audio.currentTime = 0; updateRoll(); return; }
  const p = audio.play();
  if (p && p.catch) p.catch((err) => { if (!err || err.name !== "AbortError") setStatus(`Press ▶ to listen (${err.name || err})`); });
}

// another tempo or sound: the same melody from the server again, where it was in the music
function reloadAudio() {
  $("tempo-value").textContent = `${tempo()} BPM`;
  if (state.lastMelody && state.lastMelody.wav_url) setDownload(state.lastMelody);  // the WAV at this tempo
  if (!state.src) return;
  const audio = $("player"), playing = !audio.paused && !audio.ended;
  const beat = audio.currentTime * (state.playBpm || 120) / 60;
  audio.src = audioUrl(state.src);
  state.playBpm = tempo();
  if (beat > 0) audio.addEventListener("loadedmetadata", () => { audio.currentTime = beat * 60 / tempo(); }, { once: true });
  if (playing) { const p = audio.play(); if (p && p.catch) p.catch(() => {}); }
}

// the piano roll: a rectangle a note (time across, pitch up) and a playhead at the audio's time
const ROLL_W = 640, ROLL_H = 90;
function drawRoll(m) {
  const g = $("roll-notes");
  g.innerHTML = "";
  state.sounding = [];
  if (!m || !m.notes) return;
  const steps = m.tokens ? m.tokens.length : m.bars * 16, pitches = m.notes.map((n) => n[2]);
  const lo = Math.min(...pitches, 60) - 1, hi = Math.max(...pitches, 72) + 1, h = ROLL_H / (hi - lo + 1);
  m.notes.forEach(([start, dur, pitch], k) => {
    el("rect", { x: start / steps * ROLL_W, y: (hi - pitch) * h, width: Math.max(dur / steps * ROLL_W - 0.5, 1),
                 height: Math.max(h, 2), class: "note", "data-index": k, "data-start": start, "data-end": start + dur,
                 "data-pitch": pitch }, g);
  });
  state.rollSteps = steps;
  updateRoll();
}

// where the playhead is: the audio's time in steps (a sixteenth lasts 15 / bpm s); the notes under it highlighted
function updateRoll() {
  const steps = state.rollSteps || 0, audio = $("player");
  if (!steps) return;
  const step = audio.currentTime * (state.playBpm || tempo()) / 15, x = Math.min(step / steps, 1) * ROLL_W;
  $("playhead").setAttribute("x1", x); $("playhead").setAttribute("x2", x);
  const sounding = [];
  for (const r of $("roll-notes").children) {
    const on = audio.currentTime > 0 && +r.dataset.start <= step && step < +r.dataset.end;
    r.classList.toggle("sounding", on);
    if (on) sounding.push(+r.dataset.index);
  }
  state.sounding = sounding;
}

function followPlayback() {
  updateRoll();
  const audio = $("player");
  if (!audio.paused && !audio.ended) requestAnimationFrame(followPlayback);
}

function setupPlayer() {
  const audio = $("player");
  $("play-stop").addEventListener("click", playStop);
  $("loop").addEventListener("change", () => { audio.loop = $("loop").checked; });
  $("tempo").addEventListener("change", reloadAudio);
  $("tempo").addEventListener("input", () => { $("tempo-value").textContent = `${tempo()} BPM`; });
  $("sound").addEventListener("change", reloadAudio);
  const piano = state.info && state.info.audio && state.info.audio.piano;
  if (piano && !piano.available) {
    const o = $("sound").querySelector('option[value="auto"]');
    o.disabled = true; o.textContent = `piano (not here: ${piano.reason})`;
  }
  for (const ev of ["play", "pause", "ended", "emptied"]) audio.addEventListener(ev, updatePlayButton);
  audio.addEventListener("play", () => requestAnimationFrame(followPlayback));
  audio.addEventListener("timeupdate", updateRoll);
  audio.addEventListener("seeked", updateRoll);
  audio.addEventListener("loadstart", () => { state.playBpm = tempo(); });
}

let scoreTicket = 0;
function showScore(m) {
  const ticket = ++scoreTicket;
  if (m.svg) { $("score").innerHTML = m.svg; return; }
  fetch(m.svg_url).then((r) => (r.ok ? r.text() : Promise.reject(new Error(`score: ${r.status}`))))
    .then((svg) => { if (ticket === scoreTicket) $("score").innerHTML = svg; })
    .catch((err) => state.errors.push(String(err.message || err)));
}

function signed(x) { return `${x >= 0 ? "+" : ""}${Number(x).toFixed(2)}`; }

// the MIDI file's name: the emotion(s), the point and the seed (the server takes [A-Za-z0-9_.+-])
function downloadName(m) {
  const seed = `seed${m.seed ?? state.seed}`;
  let stem;
  if (m.index !== undefined) stem = m.name;                       // a training melody
  else if (m.bars > 4 && m.emotions && m.emotions.length > 1 && m.name.startsWith("path")) {
    stem = `path_${m.emotions.join("-")}_${m.bars}bars_${seed}`;
  } else if (m.point && !m.name.includes("_to_")) {
    stem = `${m.emotion}_v${signed(m.point[0])}_a${signed(m.point[1])}_${seed}`;
  } else stem = `${m.name}_${seed}`;
  return stem.replace(/[^A-Za-z0-9_.+-]/g, "_").slice(0, 90);
}

function setDownload(m) {
  const a = $("download"), name = downloadName(m), u = new URL(m.midi_url, location.href);
  u.searchParams.set("name", name);
  a.href = u.pathname + u.search; a.download = `${name}.mid`; a.hidden = false;
  a.setAttribute("aria-label", `download the MIDI file ${name}.mid`);
  const w = $("download-wav");
  w.href = audioUrl(m.wav_url); w.download = `${name}.wav`; w.hidden = false;
  w.setAttribute("aria-label", `download the audio ${name}.wav`);
  const x = $("download-musicxml");
  const xmlUrl = m.musicxml_url || `/api/melody/${m.id}.musicxml`, xu = new URL(xmlUrl, location.href);
  xu.searchParams.set("name", name);
  x.href = xu.pathname + xu.search; x.download = `${name}.musicxml`; x.hidden = false;
  x.setAttribute("aria-label", `download the score ${name}.musicxml`);
}

function show(m, t0, what, playing, params) {
  state.lastMelody = m;
  if (!playing) play(m.wav_url, t0);
  showScore(m);
  setDownload(m);
  drawRoll(m);
  $("another").disabled = false;
  setStatus(`${what} · ${m.bars} bars, ${m.notes.length} notes · ${titleOf(m.model)}`
            + (m.temperature ? ` · T ${Number(m.temperature).toFixed(1)}` : "") + ` · seed ${m.seed ?? 0}`);
  if (params) remember(params, `${what.replace(/ \((near|paper|fitted).*$/, "")} · ${titleOf(m.model)}`
                               + (m.temperature ? ` · T ${Number(m.temperature).toFixed(1)}` : "") + ` · seed ${m.seed ?? 0}`);
}

// ------------------------------------------------------------------------------- the URL and the history
// The URL holds what makes the melody: model, t (temperature), seed and one of at=v,a (with jitter),
// path=v,a;v,a;... (with bars) or draw=emotion (with sampler, spread, unique). Opening it makes it again.
function baseParams() {
  const p = new URLSearchParams();
  p.set("model", state.model);
  p.set("t", temperature().toFixed(1));
  p.set("seed", String(state.seed));
  return p;
}

function setURL(p) {
  try { history.replaceState(null, "", `${location.pathname}?${p.toString()}`); } catch (e) { /* file: etc. */ }
}

function remember(params, label) {
  const key = params.toString();
  setURL(params);
  state.history = [{ params: key, label }, ...state.history.filter((h) => h.params !== key)].slice(0, 10);
  const list = $("history");
  list.innerHTML = "";
  for (const h of state.history) {
    const li = document.createElement("li"), b = document.createElement("button");
    b.type = "button"; b.textContent = h.label; b.dataset.params = h.params;
    b.setAttribute("aria-label", `again: ${h.label}`);
    b.addEventListener("click", () => restore(new URLSearchParams(h.params)));
    li.appendChild(b); list.appendChild(li);
  }
}

const numbers = (text) => (text || "").split(",").map(Number);

// makes the melody a URL's parameters describe (the model switched first where it differs)
async function restore(p) {
  const model = p.get("model");
  if (model && model !== state.model && document.querySelector(`#models input[value="${model}"]`)) {
    await switchModel(model);
  }
  const t = parseFloat(p.get("t"));
  if (Number.isFinite(t)) { $("temperature").value = String(t); $("temperature-value").textContent = temperature().toFixed(1); }
  const seed = parseInt(p.get("seed"), 10);
  state.seed = Number.isFinite(seed) && seed >= 0 ? seed : 0;
  const t0 = performance.now();
  if (p.has("at")) {
    const [v, a] = numbers(p.get("at"));
    if (!Number.isFinite(v) || !Number.isFinite(a)) return false;
    setCursor([v, a]);
    run(atAction(v, a, parseFloat(p.get("jitter")) || 0), t0);
  } else if (p.has("path")) {
    const points = p.get("path").split(";").map(numbers).filter((q) => q.length === 2 && q.every(Number.isFinite));
    if (points.length < 2) return false;
    const bars = p.get("bars"), select = $("bars");
    if (bars && /^\d+$/.test(bars)) {
      if (![...select.options].some((o) => o.value === bars)) select.add(new Option(bars));
      select.value = bars;
    }
    run(pathAction(points), t0);
  } else if (p.has("draw")) {
    if (p.has("sampler") && [...$("sampler").options].some((o) => o.value === p.get("sampler"))) {
      $("sampler").value = p.get("sampler");
    }
    if (p.has("spread")) $("spread").value = p.get("spread");
    $("unique").checked = p.get("unique") === "1";
    updateDrawControls(false);
    run(drawAction(p.get("draw")), t0);
  } else if (p.has("melody")) {
    const tokens = unpackTokens(p.get("melody")), label = p.get("as"), to = p.get("to");
    if (!tokens) { setStatus("this link's melody cannot be read", true); return false; }
    const known = (e) => e && document.querySelector(`#moves button[data-to="${e}"]`);
    state.uploadPicked = Boolean(known(label));
    if (state.uploadPicked) state.uploadLabel = label;
    run(async (t1, tk) => {
      const ask = { model: tk.model, tokens };
      if (state.uploadPicked) ask.emotion = label;
      const m = check(tk, await post("/api/encode", ask));
      clearMarks();
      placeUpload({ ...m, file: p.get("file") || "your melody", warnings: [] }, t1);
      if (known(to)) await transformAction(to)(performance.now(), tk);
    }, t0, false);
  } else return false;
  return true;
}

function titleOf(key) {
  const b = document.querySelector(`#models input[value="${key}"]`);
  return b ? b.dataset.title : key;
}

async function run(action, t0, keep = true) {
  if (keep) state.last = action;
  state.ticket += 1;
  const tk = ticket();
  try {
    await action(t0, tk);
  } catch (err) {
    if (err instanceof Stale || !fresh(tk)) { state.dropped += 1; return; }   // the page has moved on
    state.errors.push(String(err.message || err));
    setStatus(String(err.message || err), true);
  }
}

// ------------------------------------------------------------------------------- actions
function atAction(v, a, jitter) {
  const action = async (t0, tk) => {
    const ask = { model: tk.model, valence: v, arousal: a, seed: state.seed, temperature: temperature(),
                  jitter: jitter || 0 };
    const params = baseParams();
    params.set("at", `${v},${a}`);
    if (jitter) params.set("jitter", String(jitter));
    // the sound first: GET /api/at.wav decodes the same melody as POST /api/at, without a round
    // trip; the JSON (marker, notes, score) is asked for once the sound starts, so that the two
    // do not compete for the server's two cores. The clicked point is marked at once meanwhile.
    play(`/api/at.wav?${new URLSearchParams(ask)}`, t0);
    const provisional = mark([v, a], quadrantOf(v, a), "circle");
    await soundStarted(400);
    let m;
    try {
      check(tk);
      m = check(tk, await post("/api/at", { ...ask, svg: false }));
    } finally {
      provisional.remove();
    }
    mark(m.point, m.emotion, "circle");
    show(m, t0, `${m.emotion} at ${fmt(m.point)}` + (jitter ? ` (near ${fmt([v, a])})` : ""), true, params);
  };
  return Object.assign(action, { kind: "at", v, a });
}

function pathAction(points) {
  return async (t0, tk) => {
    const bars = parseInt($("bars").value, 10);
    const params = baseParams();
    params.set("path", points.map(([v, a]) => `${round3(v)},${round3(a)}`).join(";"));
    params.set("bars", String(bars));
    const m = check(tk, await post("/api/path", { model: tk.model, points, bars, seed: state.seed,
                                                  temperature: temperature(), svg: false }));
    trail(points, "path-drawn");
    trail(m.points, "path-segments");
    m.points.forEach((p, k) => mark(p, m.emotions[k], "circle", k + 1));
    show(m, t0, `path: ${m.emotions.join(" → ")}`, false, params);
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
  return async (t0, tk) => {
    const options = drawOptions(), params = baseParams();
    params.set("draw", emotion);
    for (const [k, v] of Object.entries(options)) params.set(k, typeof v === "boolean" ? (v ? "1" : "0") : String(v));
    const r = check(tk, await post("/api/generate", { model: tk.model, emotion, n: 1, seed: state.seed,
                                                      temperature: temperature(), svg: false, ...options }));
    const m = check(tk, r.melodies[0]);
    mark(m.point, m.emotion, "circle");
    show(m, t0, `${emotion} drawn at ${fmt(m.point)} (${r.sampler} sampler`
                + (r.spread && r.spread !== 1 ? `, spread ${r.spread}` : "") + (r.unique ? ", no copies" : "") + ")",
         false, params);
  };
}

function transformAction(to) {
  return async (t0, tk) => {
    const up = state.upload;
    const m = check(tk, await post("/api/transform", { model: tk.model, tokens: up.tokens, to, seed: state.seed,
                                                       emotion: state.uploadLabel || undefined,
                                                       temperature: temperature(), svg: false }));
    m.points.forEach((p, k) => trail([up.points[k], p], "move"));
    m.points.forEach((p) => mark(p, to, "diamond"));
    const params = uploadParams(up);
    params.set("to", to);
    show(m, t0, `your melody, placed as ${state.uploadLabel}, moved to ${to} ${fmt(m.point)}`, false, params);
  };
}

// your melody under each of the four labels (the encoder reads the label too): a small labelled
// diamond each, the chosen one ringed; the radio group picks the label the moves start from
// (a melody longer than 4 bars: each 4-bar segment's point, numbered and joined in order)
function drawLabelMarks(m) {
  const g = $("label-marks");
  g.innerHTML = "";
  for (const lp of m.label_placements || []) {
    const chosen = lp.emotion === state.uploadLabel, points = lp.points || [lp.point];
    const mk = el("g", { class: `label-mark${chosen ? " chosen" : ""}`, "data-emotion": lp.emotion }, g);
    if (points.length > 1) {
      el("polyline", { points: points.map((q) => toXY(q[0], q[1]).join(",")).join(" "), class: "label-trail",
                       stroke: COLORS[lp.emotion] }, mk);
    }
    points.forEach((q, k) => {
      const [x, y] = toXY(q[0], q[1]);
      el("rect", { x: x - 4, y: y - 4, width: 8, height: 8, transform: `rotate(45 ${x} ${y})`, fill: COLORS[lp.emotion],
                   "data-segment": String(k + 1) }, mk);
      if (chosen && k === 0) el("circle", { cx: x, cy: y, r: 10 }, mk);
      if (k === 0) el("text", { x: x + 8, y: y - 6 }, mk, `as ${lp.emotion} (${lp.quadrant})`);
      if (points.length > 1) el("text", { x: x - 3, y: y + 16, class: "segment" }, mk, String(k + 1));
    });
  }
}

// the URL of a placed melody: its tokens (one byte each, base64url), the file's name, the label picked
function uploadParams(up) {
  const params = baseParams();
  params.set("melody", packTokens(up.tokens));
  if (up.file) params.set("file", up.file);
  if (state.uploadPicked && state.uploadLabel) params.set("as", state.uploadLabel);
  return params;
}

function packTokens(tokens) {
  const text = String.fromCharCode(...tokens.map((t) => t & 255));
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function unpackTokens(text) {
  try {
    const bytes = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const tokens = [...bytes].map((c) => c.charCodeAt(0));
    return tokens.length && tokens.every((t) => t <= 129) ? tokens : null;
  } catch (e) {
    return null;
  }
}

function placeUpload(m, t0) {
  state.upload = m;
  const params = uploadParams(m);
  if (m.chosen_emotion) {
    state.uploadLabel = m.chosen_emotion;
    if (!state.uploadPicked) state.uploadWhy = m.chosen_because;
  }
  drawLabelMarks(m);
  const box = $("placement");
  box.hidden = !m.label_placements;
  if (m.label_placements) {
    $("placement-why").textContent = state.uploadPicked
      ? `placed as ${state.uploadLabel}, your choice (${state.uploadWhy})` : state.uploadWhy;
    for (const r of document.querySelectorAll("#label-pick input")) {
      r.checked = r.value === state.uploadLabel;
      r.disabled = m.label_matters === false;
    }
  }
  if (m.points.length > 1) trail(m.points, "path-segments");
  m.points.forEach((p, k) => mark(p, m.emotions[k], "diamond", m.points.length > 1 ? k + 1 : undefined));
  for (const b of document.querySelectorAll("#moves button")) b.disabled = false;
  show(m, t0, `${m.file}: ${m.verdicts.join("; ")}` + (m.warnings.length ? ` (${m.warnings.join("; ")})` : ""),
       false, params);
}

// another label picked: the melody placed again with it (the moves start from there)
function pickLabel(label) {
  if (!state.upload) return;
  state.uploadPicked = true;
  state.uploadLabel = label;
  run(async (t0, tk) => {
    const up = state.upload;
    const m = check(tk, await post("/api/encode", { model: tk.model, tokens: up.tokens, emotion: label }));
    $("marks").querySelectorAll(".mark").forEach((g) => { if (g.querySelector("rect")) g.remove(); });
    $("trails").innerHTML = "";
    placeUpload({ ...m, file: up.file, warnings: up.warnings || [] }, t0);
  }, performance.now(), false);
}

async function uploadFile(file, t0, tk) {
  const most = state.info && state.info.limits ? state.info.limits.upload_bytes : null;
  if (most && file.size > most) {
    throw new Error(`${file.name}: ${Math.ceil(file.size / 1024)} KiB; a MIDI file of at most ${most / 1024} KiB, please`);
  }
  const form = new FormData();
  form.append("file", file);
  form.append("model", tk.model);
  const m = check(tk, await api("/api/upload", { method: "POST", body: form }));
  state.uploadPicked = false;
  placeUpload(m, t0);
}

function playTraining(d) {
  run(async (t0, tk) => {
    const m = check(tk, await api(`/api/training/${d.index}?svg=false&model=${encodeURIComponent(tk.model)}`));
    state.lastMelody = m;
    play(`/api/training/${d.index}.wav`, t0);
    showScore(m);
    setDownload(m);
    drawRoll(m);
    setStatus(`training melody ${d.file} (${d.emotion}) at ${fmt(d.point)}`);
  }, performance.now(), false);
}

// ------------------------------------------------------------------------------- input
function simplify(points, most) {
  if (points.length <= most) return points;
  const out = [];
  for (let k = 0; k < most; k++) out.push(points[Math.round(k * (points.length - 1) / (most - 1))]);
  return out;
}

// the keyboard's cursor: a ring with a cross hair at state.cursor, shown while the plane has focus
function setCursor(p) {
  state.cursor = [Math.max(-state.view, Math.min(state.view, p[0])), Math.max(-state.view, Math.min(state.view, p[1]))];
  const [x, y] = toXY(state.cursor[0], state.cursor[1]), g = $("cursor"), [h, v] = g.querySelectorAll("line");
  g.querySelector("circle").setAttribute("cx", x); g.querySelector("circle").setAttribute("cy", y);
  h.setAttribute("x1", x - 14); h.setAttribute("x2", x + 14); h.setAttribute("y1", y); h.setAttribute("y2", y);
  v.setAttribute("x1", x); v.setAttribute("x2", x); v.setAttribute("y1", y - 14); v.setAttribute("y2", y + 14);
  g.classList.toggle("adding", !!state.keyPath);
  const path = state.keyPath ? [...state.keyPath, state.cursor] : [];
  $("key-path").setAttribute("points", path.map(([pv, pa]) => toXY(pv, pa).join(",")).join(" "));
  $("cursor-text").textContent = `cursor at valence ${signed(state.cursor[0])}, arousal ${signed(state.cursor[1])}, `
    + `${quadrantOf(state.cursor[0], state.cursor[1])}` + (state.keyPath ? `; path of ${state.keyPath.length} points` : "");
}

function setupKeyboard(svg) {
  const STEP = 0.5, moves = { ArrowLeft: [-STEP, 0], ArrowRight: [STEP, 0], ArrowUp: [0, STEP], ArrowDown: [0, -STEP] };
  svg.addEventListener("focus", () => { $("cursor").hidden = false; setCursor(state.cursor); });
  svg.addEventListener("blur", () => { $("cursor").hidden = true; });
  svg.addEventListener("keydown", (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const t0 = performance.now();
    if (moves[e.key]) {
      e.preventDefault();
      setCursor([state.cursor[0] + moves[e.key][0], state.cursor[1] + moves[e.key][1]]);
    } else if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      if (state.keyPath) {               // adding path points: Enter adds the cursor's point
        state.keyPath.push([...state.cursor]);
        setCursor(state.cursor);
      } else {
        state.seed = 0;
        run(atAction(state.cursor[0], state.cursor[1], 0), t0);
      }
    } else if (e.key === "p" || e.key === "P") {
      e.preventDefault();
      if (!state.keyPath) {              // start a path at the cursor
        state.keyPath = [[...state.cursor]];
        setStatus("Path: move the cursor and press Enter to add points; P again makes the melody, Escape cancels.");
      } else {                           // finish it (the cursor's point last)
        const points = state.keyPath, last = points[points.length - 1];
        if (last[0] !== state.cursor[0] || last[1] !== state.cursor[1]) points.push([...state.cursor]);
        state.keyPath = null;
        if (points.length > 1) { state.seed = 0; run(pathAction(points), t0); }
        else setStatus("A path needs two points or more: move the cursor between them.");
      }
      setCursor(state.cursor);
    } else if (e.key === "Escape" && state.keyPath) {
      state.keyPath = null;
      setCursor(state.cursor);
      setStatus("Path cancelled.");
    }
  });
}

function setupPlane() {
  const svg = $("plane"), drawing = $("drawing");
  let stroke = null;
  setupKeyboard(svg);
  svg.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    // a touch draws only in path mode (the page scrolls otherwise: touch-action); a mouse with shift too
    stroke = { path: (e.shiftKey && e.pointerType !== "touch") || $("path-mode").checked, points: [toVA(e)] };
    if (stroke.path) { svg.setPointerCapture(e.pointerId); drawing.setAttribute("points", ""); }
  });
  svg.addEventListener("pointercancel", () => { stroke = null; drawing.setAttribute("points", ""); });
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
    if (v !== null) setCursor([v, a]);
    state.seed = 0;
    if (s.path && s.points.length > 1) run(pathAction(simplify(s.points, 64)), t0);
    else run(atAction(v, a, 0), t0);
  });
}

// another model: whatever is in flight for the old one is dropped on arrival (the ticket moves on)
async function switchModel(key) {
  state.model = key;
  state.ticket += 1;
  const tk = ticket(), radio = document.querySelector(`#models input[value="${key}"]`);
  if (radio) radio.checked = true;
  $("player").pause();
  state.pending = null;
  updateDrawControls(true);
  clearMarks();
  const p = new URLSearchParams();
  p.set("model", key);
  setURL(p);
  await loadDots(tk);
  if (!fresh(tk)) return;
  setStatus(`Model: ${titleOf(state.model)}. Click the plane.`);
  if (state.upload) {
    const t0 = performance.now();
    run(async (t1, tk1) => {
      const ask = { model: tk1.model, tokens: state.upload.tokens };
      if (state.uploadPicked) ask.emotion = state.uploadLabel;
      const m = check(tk1, await post("/api/encode", ask));
      placeUpload({ ...m, file: state.upload.file, warnings: [] }, t0);
    }, t0, false);
  }
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
  box.addEventListener("change", (e) => switchModel(e.target.value));
  $("path-mode").addEventListener("change", () => $("plane").classList.toggle("path-mode", $("path-mode").checked));
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
    if (file) run(async (t0, tk) => uploadFile(file, t0, tk), performance.now(), false);
  });
  for (const b of document.querySelectorAll("#moves button")) {
    b.addEventListener("click", () => { state.seed = 0; run(transformAction(b.dataset.to), performance.now()); });
  }
  $("player").addEventListener("playing", onPlaying);
  $("label-pick").addEventListener("change", (e) => pickLabel(e.target.value));
  setupPlayer();
}

// Start the browser's audio output before the first click (a muted, silent WAV may autoplay):
// otherwise the first click waits a few hundred ms for it. A separate, hidden element plays it:
// the page's player stays empty (no muted speaker, no source) until the first melody.
function warmAudio() {
  const rate = 8000, n = 800, buf = new ArrayBuffer(44 + 2 * n), w = new DataView(buf);
  const text = (at, s) => [...s].forEach((c, i) => w.setUint8(at + i, c.charCodeAt(0)));
  text(0, "RIFF"); w.setUint32(4, 36 + 2 * n, true); text(8, "WAVEfmt "); w.setUint32(16, 16, true);
  w.setUint16(20, 1, true); w.setUint16(22, 1, true); w.setUint32(24, rate, true); w.setUint32(28, 2 * rate, true);
  w.setUint16(32, 2, true); w.setUint16(34, 16, true); text(36, "data"); w.setUint32(40, 2 * n, true);
  const audio = new Audio();
  audio.muted = true;
  audio.src = URL.createObjectURL(new Blob([buf], { type: "audio/wav" }));
  state.warmup = audio;
  const p = audio.play();
  if (p && p.catch) p.catch(() => {});
}

// asked for at once, side by side: what the page needs first (the default model's dots are asked
// for before /api/info names that model: the route's default is the same)
const asked = window.emovaeEarly || {};   // index.html's early fetches, where it made them
const early = { info: api("/api/info", undefined, asked.info), dots: api("/api/training", undefined, asked.dots) };
early.dots.catch(() => {});  // a failure is reported where it is awaited

async function main() {
  try {
    const info = await early.info;
    state.info = info;
    state.model = info.default_model;
    state.limit = info.plane_limit;
    state.view = Math.min(7, info.plane_limit);
    drawPlane(info);
    drawLegend();
    setupControls(info);
    setupPlane();
    warmAudio();
    const asked = new URLSearchParams(location.search);
    const model = asked.get("model");
    if (model && model !== state.model && document.querySelector(`#models input[value="${model}"]`)) {
      await switchModel(model);
    } else {
      const n = await loadDots(ticket(), early.dots);
      if (n) setStatus(`Ready: ${n} training melodies shown. Click the plane.`);
    }
    state.ready = true;
    state.readyMs = performance.now();   // from navigation start: the page usable, the dots drawn
    await restore(asked);   // a link with a melody in it: make it again
  } catch (err) {
    setStatus(`Could not start: ${err.message || err}`, true);
  }
}

main();
