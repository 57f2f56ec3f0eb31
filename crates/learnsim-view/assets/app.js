// learnsim view: the leaderboard page and the run page (bars, metrics against baselines,
// loss and error curves drawn with uPlot, the rollout player), from the server's endpoints or,
// in an exported file, from window.LEARNSIM_EXPORT. No build step, no dependencies but uPlot.
"use strict";

const EXPORT = window.LEARNSIM_EXPORT || null;
const app = document.getElementById("app");
const crumb = document.getElementById("crumb");

// ---------------------------------------------------------------- small helpers

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function fmt(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v !== "number") return String(v);
  if (!isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (Number.isInteger(v) && a < 1e6) return String(v);
  if (a >= 1e-2 && a < 1e4) return v.toPrecision(4).replace(/\.?0+$/, "");
  return v.toExponential(3);
}

function tickFmt(v) {
  if (v === null || v === undefined) return "";
  const a = Math.abs(v);
  if (v === 0 || (a >= 1e-2 && a < 1e4)) return String(+v.toPrecision(3));
  return v.toExponential(0);
}

function encodeId(id) {
  return id.split("/").map(encodeURIComponent).join("/");
}

async function getJSON(url) {
  const r = await fetch(url);
  let body = null;
  try { body = await r.json(); } catch (_) { body = null; }
  if (!r.ok) throw new Error((body && body.error) || `${url}: HTTP ${r.status}`);
  return body;
}

function errorCard(message) {
  return el("div", { class: "card error" }, message);
}

function fileURL(runId, name) {
  if (EXPORT) return EXPORT.files[name] || "";
  return `data/${encodeId(runId)}/${encodeURIComponent(name)}`;
}

// ---------------------------------------------------------------- playback files

// The layout of crates/learnsim-data/src/playback.rs: b"LSPLAY1\n", u32 header length, the
// JSON header, padding to 4 bytes, then f32 series (little-endian) at the header's offsets.
function parsePlayback(buffer) {
  const bytes = new Uint8Array(buffer);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== "LSPLAY1\n") throw new Error("not a learnsim playback file");
  const len = new DataView(buffer).getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len)));
  const series = header.series.map((s) => {
    if (s.offset + 4 * s.floats > buffer.byteLength) throw new Error(`series ${s.name} is cut short`);
    return { name: s.name, data: new Float32Array(buffer, s.offset, s.floats) };
  });
  const extras = (header.extras || []).map((e) => {
    if (e.offset + 4 * e.floats > buffer.byteLength) throw new Error(`extra ${e.name} is cut short`);
    return { ...e, data: new Float32Array(buffer, e.offset, e.floats) };
  });
  return { ...header, series, extras };
}

async function loadPlayback(runId, name) {
  if (EXPORT) {
    const b64 = EXPORT.playbacks[name];
    const raw = atob(b64);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return parsePlayback(bytes.buffer);
  }
  const r = await fetch(`data/${encodeId(runId)}/playback/${encodeURIComponent(name)}`);
  if (!r.ok) {
    let message = `HTTP ${r.status}`;
    try { message = (await r.json()).error || message; } catch (_) { /* keep the status */ }
    throw new Error(`${name}: ${message}`);
  }
  return parsePlayback(await r.arrayBuffer());
}

// ---------------------------------------------------------------- sortable tables

function sortableTable(columns, rows) {
  // columns: [{name, value(row) -> sortable, cell(row) -> node|string, num}]
  const tbody = el("tbody");
  let order = { col: -1, dir: 1 };
  const render = () => {
    tbody.replaceChildren(...rows.map((row) =>
      el("tr", {}, columns.map((c) => el("td", { class: c.num ? "num" : null }, c.cell(row))))));
  };
  const header = el("tr", {}, columns.map((c, k) => el("th", {
    class: "sortable",
    title: "sort",
    onclick: () => {
      order = { col: k, dir: order.col === k ? -order.dir : 1 };
      rows.sort((a, b) => {
        const x = c.value(a), y = c.value(b);
        if (x === y) return 0;
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        return (x < y ? -1 : 1) * order.dir;
      });
      render();
    },
  }, c.name)));
  render();
  return el("table", {}, el("thead", {}, header), tbody);
}

function barCell(bar) {
  if (!bar) return "–";
  const rel = bar.at_most ? "≤" : "≥";
  return el("span", { class: bar.pass ? "pass" : "fail", title: `${bar.name}: ${fmt(bar.value)} (bar ${rel} ${fmt(bar.threshold)})` },
    `${fmt(bar.value)} ${bar.pass ? "✓" : "✗"}`);
}

function runLink(id, text) {
  return id ? el("a", { href: `#/run/${encodeId(id)}`, class: "run-link" }, text || id) : el("span", { class: "muted" }, text || "(not under this root)");
}

// ---------------------------------------------------------------- leaderboard page

async function leaderboardPage() {
  crumb.textContent = "/ leaderboard";
  const [board, list] = await Promise.all([getJSON("api/leaderboard"), getJSON("api/runs")]);
  const nodes = [el("h1", {}, "Leaderboard")];
  if (board.error) nodes.push(errorCard(`leaderboard.sqlite: ${board.error}`));
  const byCase = new Map();
  for (const row of board.rows) {
    if (!byCase.has(row.case)) byCase.set(row.case, []);
    byCase.get(row.case).push(row);
  }
  if (byCase.size === 0) nodes.push(el("p", { class: "muted" }, `No rows in ${list.root}/leaderboard.sqlite yet: runs record themselves when they finish.`));
  for (const [caseName, rows] of byCase) {
    const barNames = [];
    for (const r of rows) for (const b of (r.report && r.report.bars) || []) if (!barNames.includes(b.name)) barNames.push(b.name);
    const bar = (r, name) => ((r.report && r.report.bars) || []).find((b) => b.name === name);
    const columns = [
      { name: "run", value: (r) => r.id || r.run_dir, cell: (r) => runLink(r.id, r.id || r.run_dir) },
      { name: "model", value: (r) => r.model, cell: (r) => r.model },
      { name: "tier", value: (r) => r.tier, cell: (r) => r.tier },
      { name: "seed", value: (r) => r.seed, cell: (r) => String(r.seed), num: true },
      { name: "pass", value: (r) => (r.pass ? 1 : 0), cell: (r) => el("span", { class: r.pass ? "pass" : "fail" }, r.pass ? "pass" : "fail") },
      ...barNames.map((name) => ({ name, value: (r) => (bar(r, name) ? bar(r, name).value : null), cell: (r) => barCell(bar(r, name)), num: true })),
      { name: "finished (UTC)", value: (r) => r.finished, cell: (r) => r.finished },
    ];
    nodes.push(el("h2", {}, caseName), sortableTable(columns, rows));
  }
  nodes.push(el("h2", {}, `Run folders under ${list.root}`));
  if (list.runs.length === 0) nodes.push(el("p", { class: "muted" }, "No run folders (folders holding run.json) here."));
  else {
    const passed = (r) => (Array.isArray(r.bars) ? `${r.bars.filter((b) => b.pass).length}/${r.bars.length}` : "–");
    nodes.push(sortableTable([
      { name: "run", value: (r) => r.id, cell: (r) => runLink(r.id) },
      { name: "case", value: (r) => r.case, cell: (r) => fmt(r.case) },
      { name: "tier", value: (r) => r.tier, cell: (r) => fmt(r.tier) },
      { name: "seed", value: (r) => r.seed, cell: (r) => fmt(r.seed), num: true },
      { name: "state", value: (r) => r.state, cell: (r) => fmt(r.state) },
      { name: "bars passed", value: (r) => passed(r), cell: (r) => passed(r) },
      { name: "problems", value: (r) => r.errors.length, cell: (r) => (r.errors.length ? el("span", { class: "fail" }, r.errors.join("; ")) : "") },
    ], list.runs));
  }
  app.replaceChildren(...nodes);
}

// ---------------------------------------------------------------- run page

function numericEntries(obj, prefix = "") {
  const out = [];
  for (const [k, v] of Object.entries(obj || {})) {
    if (typeof v === "number") out.push([prefix + k, v]);
  }
  return out;
}

function baselineValue(b, key) {
  if (!b || typeof b !== "object") return undefined;
  if (typeof b[key] === "number") return b[key];
  if (b.scores && typeof b.scores[key] === "number") return b.scores[key];
  return undefined;
}

function metricsTable(metrics) {
  const entries = numericEntries(metrics.metrics);
  if (entries.length === 0) return null;
  const baselines = Object.entries(metrics.baselines || {}).filter(([, b]) => b && typeof b === "object");
  const used = baselines.filter(([, b]) => entries.some(([k]) => baselineValue(b, k) !== undefined));
  return el("table", { id: "metrics" },
    el("thead", {}, el("tr", {}, el("th", {}, "metric"), el("th", {}, metrics.model || "model"), used.map(([n]) => el("th", {}, n)))),
    el("tbody", {}, entries.map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", { class: "num" }, fmt(v)),
      used.map(([, b]) => el("td", { class: "num" }, fmt(baselineValue(b, k))))))));
}

const COLORS = ["#0b57d0", "#d93025", "#188038", "#e37400", "#8430ce", "#007b83", "#b3261e", "#5f6368"];

function chart(title, xLabel, xs, series, logY) {
  const box = el("div", { class: "chart" }, el("h3", {}, title));
  const opts = {
    width: 460, height: 260,
    scales: { x: { time: false }, y: logY ? { distr: 3 } : {} },
    axes: [{ label: xLabel }, { values: (u, ticks) => ticks.map(tickFmt), size: 56 }],
    series: [{ label: xLabel }, ...series.map((s, k) => ({ label: s.label, stroke: COLORS[k % COLORS.length], width: k === 0 ? 2.5 : 1.5, spanGaps: true, points: { show: xs.length < 30 } }))],
  };
  // eslint-disable-next-line no-undef
  new uPlot(opts, [xs, ...series.map((s) => s.values)], box);
  return box;
}

function lossCharts(log) {
  if (!log || !log.rows || log.rows.length === 0) return [];
  const col = (name) => log.columns.indexOf(name);
  const [iNet, iStep, iTrain, iValid] = [col("network"), col("step"), col("train_loss"), col("valid_loss")];
  if (iStep < 0) return [];
  const nets = [...new Set(log.rows.map((r) => (iNet >= 0 ? r[iNet] : "model")))];
  return nets.map((net) => {
    const rows = log.rows.filter((r) => (iNet >= 0 ? r[iNet] : "model") === net);
    const xs = rows.map((r) => r[iStep]);
    const pos = (v) => (v !== null && v > 0 ? v : null);
    const series = [];
    if (iTrain >= 0) series.push({ label: "train loss", values: rows.map((r) => pos(r[iTrain])) });
    if (iValid >= 0) series.push({ label: "valid loss", values: rows.map((r) => pos(r[iValid])) });
    return chart(`${net}: loss`, "step", xs, series, true);
  });
}

function horizonChart(metrics) {
  // Particle and object cases report mse_H; grid cases an rmse_by_step array.
  const model = metrics.metrics || {};
  const baselines = Object.entries(metrics.baselines || {}).filter(([, b]) => b && typeof b === "object");
  const hs = Object.keys(model).map((k) => /^mse_(\d+)$/.exec(k)).filter(Boolean).map((m) => +m[1]).sort((a, b) => a - b);
  if (hs.length >= 2) {
    const series = [{ label: metrics.model || "model", values: hs.map((h) => model[`mse_${h}`]) }];
    for (const [name, b] of baselines) {
      const values = hs.map((h) => baselineValue(b, `mse_${h}`) ?? null);
      if (values.some((v) => v !== null)) series.push({ label: name, values });
    }
    return chart("position MSE against horizon", "horizon (frames)", hs, series, true);
  }
  if (Array.isArray(model.rmse_by_step) && model.rmse_by_step.length >= 2) {
    const xs = model.rmse_by_step.map((_, k) => k + 1);
    const series = [{ label: metrics.model || "model", values: model.rmse_by_step }];
    for (const [name, b] of baselines) {
      const v = (b.scores && b.scores.rmse_by_step) || b.rmse_by_step;
      if (Array.isArray(v) && v.length === xs.length) series.push({ label: name, values: v });
    }
    return chart("RMSE against rollout step", "step", xs, series, false);
  }
  return null;
}

async function runPage(id) {
  crumb.textContent = `/ ${id}`;
  const s = EXPORT ? EXPORT.summary : await getJSON(`api/run/${encodeId(id)}`);
  const record = s.run || {};
  const metrics = s.metrics || null;
  const nodes = [];
  nodes.push(el("h1", {}, `${record.case || "?"} `, el("span", { class: "muted" }, s.id), " ",
    metrics ? el("span", { class: `badge ${metrics.pass ? "pass" : "fail"}`, id: "verdict" }, metrics.pass ? "pass" : "fail") : null));
  nodes.push(el("p", { class: "muted" }, `tier ${fmt(record.tier)} · seed ${fmt(record.seed)} · state ${fmt(record.state)}${metrics && metrics.model ? ` · model ${metrics.model}` : ""}`));
  for (const n of (EXPORT && EXPORT.notices) || []) nodes.push(el("div", { class: "card notice" }, n));
  for (const e of s.errors || []) nodes.push(errorCard(e));
  if (!metrics && record.state !== "finished") nodes.push(el("div", { class: "card notice" }, "No metrics.json yet: the run has not finished (or was stopped)."));
  if (metrics && Array.isArray(metrics.bars)) {
    nodes.push(el("h2", {}, "Bars"), el("table", { id: "bars" },
      el("thead", {}, el("tr", {}, ["bar", "value", "threshold", ""].map((h) => el("th", {}, h)))),
      el("tbody", {}, metrics.bars.map((b) => el("tr", {}, el("td", {}, b.name), el("td", { class: "num" }, fmt(b.value)),
        el("td", { class: "num" }, `${b.at_most ? "≤" : "≥"} ${fmt(b.threshold)}`), el("td", { class: b.pass ? "pass" : "fail" }, b.pass ? "pass" : "fail"))))));
  }
  const playerBox = el("div", { class: "player", id: "player" });
  if (s.playbacks && s.playbacks.length) nodes.push(el("h2", {}, "Rollouts"), playerBox);
  else nodes.push(el("h2", {}, "Rollouts"), el("p", { class: "muted" }, "No playback files in this run folder (runs write playback/ when they finish; `learnsim render --run RUN --format playback` adds them to an older particle run)."));
  const charts = [...lossCharts(s.train_log)];
  if (metrics) { const h = horizonChart(metrics); if (h) charts.push(h); }
  if (charts.length) nodes.push(el("h2", {}, "Curves"), el("div", { class: "charts" }, charts));
  if (metrics) { const t = metricsTable(metrics); if (t) nodes.push(el("h2", {}, "Metrics against the baselines"), t); }
  const figures = [...(s.images || []), ...(s.gifs || [])];
  if (figures.length) nodes.push(el("h2", {}, "Figures"), el("div", { class: "figures" }, figures.map((n) => el("img", { src: fileURL(s.id, n), alt: n, title: n, loading: "lazy" }))));
  if (s.report_md) nodes.push(el("details", {}, el("summary", {}, "report.md"), el("pre", {}, s.report_md)));
  app.replaceChildren(...nodes);
  if (s.playbacks && s.playbacks.length) await player(playerBox, s.id, s.playbacks);
}

// ---------------------------------------------------------------- the player

const CLASS_COLORS = { water: [30, 110, 220], sand: [214, 160, 50], goop: [120, 170, 60], rigid: [150, 80, 170], wall: [120, 120, 120], moving_wall: [90, 90, 90] };
const FALLBACK = [[30, 110, 220], [214, 160, 50], [120, 170, 60], [150, 80, 170], [0, 150, 150]];
const BACKGROUND = [255, 255, 255];

function classColor(name, k) {
  return CLASS_COLORS[name] || FALLBACK[k % FALLBACK.length];
}

// Diverging blue–white–red for signed fields, viridis-like for the rest and for errors.
function diverging(t) { // t in [-1, 1]
  const u = Math.max(-1, Math.min(1, t));
  const [a, b] = u < 0 ? [[255, 255, 255], [33, 102, 172]] : [[255, 255, 255], [178, 24, 43]];
  const w = Math.abs(u);
  return a.map((c, i) => Math.round(c + (b[i] - c) * w));
}
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
function sequential(t) { // t in [0, 1]
  const u = Math.max(0, Math.min(1, t)) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(u), VIRIDIS.length - 2), f = u - i;
  return VIRIDIS[i].map((c, k) => Math.round(c + (VIRIDIS[i + 1][k] - c) * f));
}

async function player(box, runId, names) {
  const state = { name: names[0], pb: null, frame: 0, playing: false, color: "class", baseline: null };
  const select = el("select", { id: "trajectory", onchange: () => load(select.value) }, names.map((n) => el("option", { value: n }, n.replace(/\.lsp$/, ""))));
  const baselineSelect = el("select", { id: "baseline", onchange: () => { state.baseline = baselineSelect.value; draw(); } });
  const colorSelect = el("select", { id: "colour", onchange: () => { state.color = colorSelect.value; draw(); } },
    el("option", { value: "class" }, "colour: material"), el("option", { value: "error" }, "colour: error vs truth"));
  const slider = el("input", { type: "range", id: "frame", min: 0, max: 0, value: 0, oninput: () => { state.frame = +slider.value; draw(); } });
  const play = el("button", { id: "play", onclick: () => toggle() }, "▶ play");
  const label = el("span", { id: "frame-label", class: "muted" });
  const title = el("div", { class: "muted", id: "playback-title" });
  const legend = el("div", { class: "legend" });
  const errorNote = el("div", { class: "muted", id: "error-note" });
  const panels = el("div", { class: "panels" });
  const spectrumBox = el("div", { class: "charts", id: "spectrum" });
  const problem = el("div");
  box.replaceChildren(el("div", { class: "controls" }, select, baselineSelect, colorSelect, play, slider, label), title, legend, errorNote, problem, panels, spectrumBox);

  function toggle() {
    state.playing = !state.playing;
    play.textContent = state.playing ? "❚❚ pause" : "▶ play";
    if (state.playing) tick();
  }
  let last = 0;
  function tick(t) {
    if (!state.playing || !box.isConnected) return;
    if (!t || t - last > 1000 / 30) {
      last = t || 0;
      state.frame = (state.frame + 1) % state.pb.frames;
      slider.value = state.frame;
      draw();
    }
    requestAnimationFrame(tick);
  }

  async function load(name) {
    state.name = name;
    problem.replaceChildren();
    try {
      state.pb = await loadPlayback(runId, name);
    } catch (e) {
      state.pb = null;
      panels.replaceChildren();
      problem.replaceChildren(errorCard(String(e.message || e)));
      return;
    }
    const pb = state.pb;
    const others = pb.series.slice(2).map((s) => s.name);
    baselineSelect.replaceChildren(...others.map((n) => el("option", { value: n }, `baseline: ${n}`)));
    baselineSelect.style.display = others.length ? "" : "none";
    state.baseline = others[0] || null;
    colorSelect.style.display = pb.scene.kind === "particles" ? "" : "none";
    state.frame = Math.min(state.frame, pb.frames - 1);
    slider.max = pb.frames - 1;
    slider.value = state.frame;
    title.textContent = `${pb.title}: ${pb.frames} frames, ${pb.context} given as input, ${fmt(pb.frame_seconds)} s apart`;
    legend.replaceChildren(...(pb.scene.kind === "particles"
      ? pb.scene.class_names.map((n, k) => el("span", { style: `--c: rgb(${classColor(n, k)})` }, n)).concat([el("span", { style: "--c: #d93025" }, "escaped (outside the box)")])
      : []));
    makePanels();
    makeSpectrum();
    draw();
  }

  // Spectra per frame (the grid cases that keep them): one chart, a line per series, redrawn
  // at every frame on the scale of the whole trajectory.
  let spectrumPlot = null;
  function makeSpectrum() {
    spectrumBox.replaceChildren();
    spectrumPlot = null;
    const spectra = state.pb.extras.filter((e) => e.kind === "spectrum");
    if (!spectra.length) return;
    const width = spectra[0].width;
    const xs = Array.from({ length: width }, (_, k) => k + 1);
    let lo = Infinity, hi = 0;
    for (const e of spectra) for (const v of e.data) if (v > 0) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    // Ten decades at most: shells past a dealiasing cut hold round-off, not the flow.
    lo = Math.max(lo, hi * 1e-10);
    const box = el("div", { class: "chart" }, el("h3", {}, `${spectra[0].name} at this frame`));
    spectrumBox.append(box);
    spectrumPlot = {
      spectra,
      plot: new uPlot({
        width: 460, height: 240,
        scales: { x: { time: false, distr: 3 }, y: { distr: 3, range: [lo, hi] } },
        axes: [{ label: "wavenumber shell", values: (u, t) => t.map(tickFmt) }, { values: (u, t) => t.map(tickFmt), size: 56 }],
        series: [{ label: "shell" }, ...spectra.map((e, k) => ({ label: e.series, stroke: COLORS[k % COLORS.length], width: k === 0 ? 2.5 : 1.5 }))],
      }, [xs, ...spectra.map(() => xs.map(() => null))], box),
    };
  }

  function drawSpectrum(f) {
    if (!spectrumPlot) return;
    const { spectra, plot } = spectrumPlot;
    const width = spectra[0].width;
    const xs = Array.from({ length: width }, (_, k) => k + 1);
    plot.setData([xs, ...spectra.map((e) => Array.from(e.data.subarray(f * e.width, (f + 1) * e.width), (v) => (v > 0 ? v : null)))]);
  }

  let canvases = [];
  function makePanels() {
    const pb = state.pb;
    const shown = ["truth", pb.series[1] ? pb.series[1].name : null, pb.series.length > 2 ? "baseline" : null].filter(Boolean);
    if (pb.scene.kind === "field") shown.push("error");
    canvases = shown.map((role) => {
      const canvas = el("canvas", { id: `panel-${role}` });
      const caption = el("div", { class: "label" });
      panels.append(el("div", { class: "panel" }, caption, canvas));
      return { role, canvas, caption };
    });
    panels.replaceChildren(...canvases.map((c) => c.canvas.parentNode));
    for (const c of canvases) sizeCanvas(c.canvas);
  }

  function sizeCanvas(canvas) {
    const pb = state.pb;
    if (pb.scene.kind === "field") {
      const [h, w] = pb.shape;
      const scale = Math.max(1, Math.floor(300 / Math.max(h, w)));
      canvas.width = w * scale; canvas.height = h * scale;
      canvas.dataset.scale = scale;
    } else {
      const b = pb.scene.bounds;
      const aspect = (b[1][1] - b[1][0]) / (b[0][1] - b[0][0]);
      const w = 340, h = Math.round(Math.max(120, Math.min(600, w * aspect)));
      const pad = 8;
      canvas.width = w + 2 * pad; canvas.height = h + 2 * pad;
      // The mapping from data to pixels, for anyone checking the drawing against the data.
      Object.assign(canvas.dataset, { pad, w, h, x0: b[0][0], x1: b[0][1], y0: b[1][0], y1: b[1][1] });
    }
  }

  function seriesOf(role) {
    const pb = state.pb;
    if (role === "truth") return pb.series[0];
    if (role === "baseline") return pb.series.find((s) => s.name === state.baseline);
    return pb.series.find((s) => s.name === role);
  }

  function frameError(a, b, f, per) {
    let sum = 0;
    for (let i = f * per; i < (f + 1) * per; i++) { const d = a[i] - b[i]; sum += d * d; }
    return sum / per;
  }

  function draw() {
    const pb = state.pb;
    if (!pb) return;
    const f = state.frame;
    const per = pb.shape.reduce((a, b) => a * b, 1);
    label.textContent = `frame ${f} / ${pb.frames - 1} · t = ${fmt(f * pb.frame_seconds)} s · ${f < pb.context ? "input (truth)" : `predicted step ${f - pb.context + 1}`}`;
    const truth = pb.series[0].data;
    // One error scale for every panel of the frame (the largest particle error shown), so
    // colours compare across the model and the baseline.
    state.errorScale = 0;
    if (pb.scene.kind === "particles" && state.color === "error") {
      for (const c of canvases) {
        const s = seriesOf(c.role);
        if (s) state.errorScale = Math.max(state.errorScale, largestError(s.data, f));
      }
      legend.dataset.errorScale = state.errorScale;
      errorNote.textContent = `colour: distance to the truth's position, 0 (dark) to ${fmt(state.errorScale)} (yellow), the largest in any panel at this frame`;
    } else errorNote.textContent = "";
    for (const c of canvases) {
      const s = c.role === "error" ? seriesOf(pb.series[1].name) : seriesOf(c.role);
      if (!s) { c.caption.textContent = `${c.role}: —`; continue; }
      const err = frameError(s.data, truth, f, per);
      if (pb.scene.kind === "particles") {
        const escaped = drawParticles(c.canvas, s.data, f);
        c.caption.textContent = `${s.name}${s.name === "truth" ? "" : ` · MSE ${fmt(err)}`} · escaped ${escaped}`;
      } else if (pb.scene.kind === "bodies") {
        drawBodies(c.canvas, s.data, f, s.name);
        const planned = pb.extras.some((x) => x.kind === "path" && x.series === s.name) ? " · dashed: its plan" : "";
        c.caption.textContent = `${s.name}${s.name === "truth" ? "" : ` · position MSE ${fmt(err)}`}${planned}`;
      } else {
        drawField(c.canvas, s.data, f, c.role === "error");
        c.caption.textContent = c.role === "error" ? `${s.name} − truth` : `${s.name} · ${pb.scene.quantity}${s.name === "truth" ? "" : ` · MSE ${fmt(err)}`}`;
      }
      c.canvas.dataset.frame = f;
    }
    drawSpectrum(f);
  }

  function mapper(canvas) {
    const d = canvas.dataset;
    const [pad, w, h, x0, x1, y0, y1] = [d.pad, d.w, d.h, d.x0, d.x1, d.y0, d.y1].map(Number);
    return (x, y) => [pad + ((x - x0) / (x1 - x0)) * w, pad + ((y1 - y) / (y1 - y0)) * h];
  }

  function drawParticles(canvas, data, f) {
    const pb = state.pb;
    const [n, dim] = pb.shape;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = `rgb(${BACKGROUND})`;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const map = mapper(canvas);
    const d = canvas.dataset;
    ctx.strokeStyle = "#999";
    ctx.strokeRect(+d.pad - 0.5, +d.pad - 0.5, +d.w + 1, +d.h + 1);
    const b = pb.scene.bounds;
    const truth = pb.series[0].data;
    const names = pb.scene.class_names;
    const kinematic = (k) => /wall/.test(names[pb.scene.classes[k]] || "");
    // Kinematic particles (walls) first, the material over them.
    const order = [...Array(n).keys()].sort((i, j) => kinematic(j) - kinematic(i));
    const maxErr = state.errorScale;
    let escaped = 0;
    for (const i of order) {
      const x = data[(f * n + i) * dim], y = data[(f * n + i) * dim + 1];
      const out = x < b[0][0] || x > b[0][1] || y < b[1][0] || y > b[1][1];
      const [px, py] = map(Math.max(b[0][0], Math.min(b[0][1], x)), Math.max(b[1][0], Math.min(b[1][1], y)));
      let color;
      if (out) { escaped++; color = [217, 48, 37]; } else if (state.color === "error") {
        let e = 0;
        for (let a = 0; a < dim; a++) { const dd = data[(f * n + i) * dim + a] - truth[(f * n + i) * dim + a]; e += dd * dd; }
        color = sequential(maxErr > 0 ? Math.sqrt(e) / maxErr : 0);
      } else {
        const k = pb.scene.classes[i];
        color = classColor(names[k], k);
      }
      ctx.fillStyle = `rgb(${color})`;
      // 4 px squares about the rounded position (so that pixel is always the particle's).
      ctx.fillRect(Math.round(px) - 2, Math.round(py) - 2, 4, 4);
    }
    return escaped;
  }

  function largestError(data, f) {
    const [n, dim] = state.pb.shape;
    const truth = state.pb.series[0].data;
    let largest = 0;
    for (let i = 0; i < n; i++) {
      let e = 0;
      for (let a = 0; a < dim; a++) { const dd = data[(f * n + i) * dim + a] - truth[(f * n + i) * dim + a]; e += dd * dd; }
      largest = Math.max(largest, Math.sqrt(e));
    }
    return largest;
  }

  function drawBodies(canvas, data, f, seriesName) {
    const pb = state.pb;
    const [n] = pb.shape;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = `rgb(${BACKGROUND})`;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const map = mapper(canvas);
    const at = (t, i) => map(data[(t * n + i) * 2], data[(t * n + i) * 2 + 1]);
    // Trails of the last 40 frames, then links, then the bodies.
    for (let i = 0; i < n; i++) {
      ctx.strokeStyle = COLORS[i % COLORS.length] + "55";
      ctx.beginPath();
      for (let t = Math.max(0, f - 40); t <= f; t++) { const [x, y] = at(t, i); t === Math.max(0, f - 40) ? ctx.moveTo(x, y) : ctx.lineTo(x, y); }
      ctx.stroke();
    }
    ctx.strokeStyle = "#444";
    ctx.lineWidth = 1.5;
    if (pb.scene.anchor) {
      // A fixed pivot, joined to the first body (a pendulum's rod).
      const [ax, ay] = map(pb.scene.anchor[0], pb.scene.anchor[1]);
      const [bx, by] = at(f, 0);
      ctx.beginPath(); ctx.moveTo(ax, ay); ctx.lineTo(bx, by); ctx.stroke();
      ctx.fillStyle = "#222";
      ctx.fillRect(ax - 3, ay - 3, 6, 6);
    }
    for (const [a, b] of pb.scene.links) {
      const [xa, ya] = at(f, a), [xb, yb] = at(f, b);
      ctx.beginPath(); ctx.moveTo(xa, ya); ctx.lineTo(xb, yb); ctx.stroke();
    }
    ctx.lineWidth = 1;
    // Plans: where the series' planner expects the body over its horizon, from this frame.
    for (const e of pb.extras.filter((x) => x.kind === "path" && x.series === seriesName)) {
      const row = e.data.subarray(f * e.width, (f + 1) * e.width);
      ctx.strokeStyle = "#e37400";
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      const [sx, sy] = at(f, 0);
      ctx.moveTo(sx, sy);
      for (let k = 0; k < e.width; k += 2) { const [px, py] = map(row[k], row[k + 1]); ctx.lineTo(px, py); }
      ctx.stroke();
      ctx.setLineDash([]);
      const [ex, ey] = map(row[e.width - 2], row[e.width - 1]);
      ctx.fillStyle = "#e37400";
      ctx.fillRect(ex - 2, ey - 2, 4, 4);
    }
    for (let i = 0; i < n; i++) {
      const [x, y] = at(f, i);
      ctx.fillStyle = COLORS[i % COLORS.length];
      ctx.beginPath(); ctx.arc(x, y, 5, 0, 2 * Math.PI); ctx.fill();
    }
  }

  function fieldRange() {
    const pb = state.pb;
    if (pb._range) return pb._range;
    const t = pb.series[0].data;
    let lo = Infinity, hi = -Infinity;
    for (const v of t) { if (v < lo) lo = v; if (v > hi) hi = v; }
    pb._range = { lo, hi, signed: lo < 0 && hi > 0, amax: Math.max(Math.abs(lo), Math.abs(hi)) };
    return pb._range;
  }

  function drawField(canvas, data, f, isError) {
    const pb = state.pb;
    const [h, w] = pb.shape;
    const per = h * w;
    const r = fieldRange();
    const image = new ImageData(w, h);
    const truth = pb.series[0].data;
    for (let k = 0; k < per; k++) {
      const v = data[f * per + k];
      let c;
      if (isError) c = diverging(r.amax > 0 ? (v - truth[f * per + k]) / r.amax : 0);
      else if (r.signed) c = diverging(v / r.amax);
      else c = sequential(r.hi > r.lo ? (v - r.lo) / (r.hi - r.lo) : 0);
      image.data.set([c[0], c[1], c[2], 255], 4 * k);
    }
    const off = new OffscreenCanvas(w, h);
    off.getContext("2d").putImageData(image, 0, 0);
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
  }

  box.addEventListener("keydown", (e) => {
    if (e.target === slider) return; // the slider moves itself
    if (e.key === " ") { e.preventDefault(); toggle(); }
  });
  await load(state.name);
}

// ---------------------------------------------------------------- router

async function route() {
  const hash = decodeURIComponent(location.hash.replace(/^#/, ""));
  try {
    if (EXPORT) await runPage(EXPORT.summary.id);
    else if (hash.startsWith("/run/")) await runPage(hash.slice(5));
    else await leaderboardPage();
  } catch (e) {
    app.replaceChildren(errorCard(String(e.message || e)));
  }
  document.body.dataset.ready = "true";
}

window.addEventListener("hashchange", () => { document.body.dataset.ready = "false"; route(); });
route();
