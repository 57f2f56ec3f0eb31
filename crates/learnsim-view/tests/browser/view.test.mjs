// Drives `learnsim view` in headless Chromium as a user would: the leaderboard lists the runs,
// a click opens a run, the player steps to frame 10, and the canvas pixels where the truth's
// particles (or the field's extremes) lie are the colours the data give them: the drawing is
// the data, not a blank or a filled canvas. Screenshots of every page are kept in SHOTS; on a
// failure, the page as it was too.
//
// Usage: node view.test.mjs URL RUNS SHOTS   (scripts/browser_test.sh starts the server)
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

const [url, runs, shots] = process.argv.slice(2);
fs.mkdirSync(shots, { recursive: true });

// The playback layout of crates/learnsim-data/src/playback.rs, read independently of the app.
function readPlayback(file) {
  const bytes = fs.readFileSync(file);
  assert.equal(bytes.subarray(0, 8).toString("latin1"), "LSPLAY1\n");
  const len = bytes.readUInt32LE(8);
  const header = JSON.parse(bytes.subarray(12, 12 + len).toString("utf8"));
  const series = Object.fromEntries(header.series.map((s) => {
    const data = new Float32Array(s.floats);
    for (let i = 0; i < s.floats; i++) data[i] = bytes.readFloatLE(s.offset + 4 * i);
    return [s.name, data];
  }));
  return { ...header, data: series };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
const problems = [];
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });

async function ready() {
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30000 });
}

async function pixels(canvasId, points) {
  return page.evaluate(([id, pts]) => {
    const ctx = document.getElementById(id).getContext("2d");
    return pts.map(([x, y]) => Array.from(ctx.getImageData(x, y, 1, 1).data));
  }, [canvasId, points]);
}

async function stepTo(frame) {
  const slider = page.locator("#frame");
  await slider.focus();
  await page.keyboard.press("Home");
  for (let k = 0; k < frame; k++) await page.keyboard.press("ArrowRight");
  const label = await page.locator("#frame-label").textContent();
  assert.match(label, new RegExp(`^frame ${frame} /`), `the player shows frame ${frame}: ${label}`);
}

let step = "start";
try {
  // ------------------------------------------------------------ the leaderboard
  step = "leaderboard";
  await page.goto(url);
  await ready();
  const links = await page.locator("a.run-link").allTextContents();
  assert.ok(links.includes("water-drop-2d"), `the leaderboard lists the particle run: ${links}`);
  assert.ok(links.includes("kolmogorov-2d"), `the leaderboard lists the grid run: ${links}`);
  const headings = await page.locator("h2").allTextContents();
  assert.ok(headings.includes("water-drop-2d") && headings.includes("kolmogorov-2d"), `one table per case: ${headings}`);
  await page.screenshot({ path: path.join(shots, "leaderboard.png"), fullPage: true });

  // ------------------------------------------------------------ a particle run
  step = "water-drop-2d run page";
  await page.locator('a.run-link[href="#/run/water-drop-2d"]').first().click();
  await ready();
  await page.waitForSelector("#panel-truth");
  assert.equal(await page.locator("#bars tbody tr").count(), 3, "the three particle bars");
  assert.ok(await page.locator(".uplot").count() >= 2, "loss and error curves drawn");
  await stepTo(10);
  const water = readPlayback(path.join(runs, "water-drop-2d/playback/test_0.lsp"));
  const [n, dim] = water.shape;
  const map = await page.evaluate(() => ({ ...document.getElementById("panel-truth").dataset }));
  const [pad, w, h, x0, x1, y0, y1] = [map.pad, map.w, map.h, map.x0, map.x1, map.y0, map.y1].map(Number);
  const toPixel = (x, y) => [Math.round(pad + ((x - x0) / (x1 - x0)) * w), Math.round(pad + ((y1 - y) / (y1 - y0)) * h)];
  const f = 10;
  const truth = water.data.truth;
  const names = water.scene.class_names;
  const sample = [];
  for (let k = 0; k < 12; k++) {
    const i = Math.floor((k * n) / 12);
    if (/wall/.test(names[water.scene.classes[i]])) continue;
    sample.push(i);
  }
  assert.ok(sample.length >= 6, "enough material particles to check");
  const legend = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll(".legend span")]
    .map((s) => [s.textContent, getComputedStyle(s).getPropertyValue("--c").trim()])));
  const rgb = (css) => css.match(/\d+/g).slice(0, 3).map(Number);
  const at = sample.map((i) => toPixel(truth[(f * n + i) * dim], truth[(f * n + i) * dim + 1]));
  const seen = await pixels("panel-truth", at);
  sample.forEach((i, k) => {
    const expected = rgb(legend[names[water.scene.classes[i]]]);
    assert.deepEqual(seen[k].slice(0, 3), expected, `truth particle ${i} at frame ${f} (pixel ${at[k]}) is drawn in its material's colour`);
  });
  // And where no particle is, the canvas is background: a place 0.05 from every particle.
  let empty = null;
  for (let gx = 0.05; gx < 1 && !empty; gx += 0.05) {
    for (let gy = 0.05; gy < 1 && !empty; gy += 0.05) {
      const x = x0 + gx * (x1 - x0), y = y0 + gy * (y1 - y0);
      let near = false;
      for (let i = 0; i < n && !near; i++) near = Math.hypot(truth[(f * n + i) * dim] - x, truth[(f * n + i) * dim + 1] - y) < 0.05;
      if (!near) empty = toPixel(x, y);
    }
  }
  assert.ok(empty, "the scene has empty space");
  assert.deepEqual((await pixels("panel-truth", [empty]))[0], [255, 255, 255, 255], `empty space at ${empty} is background`);
  const caption = await page.locator(".panel .label").nth(1).textContent();
  assert.match(caption, /^gns · MSE [0-9.e-]+ · escaped \d+$/, `the model's panel says its error: ${caption}`);
  await page.screenshot({ path: path.join(shots, "water-drop-2d.png"), fullPage: true });
  // The README's picture: the same page further into the rollout, coloured by error.
  await stepTo(Math.min(80, water.frames - 1));
  await page.selectOption("#colour", "error");
  await page.locator("#player").scrollIntoViewIfNeeded();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(shots, "readme.png"), clip: { x: 0, y: 0, width: 1400, height: 1000 } });

  // ------------------------------------------------------------ a grid run
  step = "kolmogorov-2d run page";
  await page.goto(`${url}#/`);
  await ready();
  await page.locator('a.run-link[href="#/run/kolmogorov-2d"]').first().click();
  await ready();
  await page.waitForSelector("#panel-truth");
  const flow = readPlayback(path.join(runs, "kolmogorov-2d/playback/test_0.lsp"));
  const frame = Math.min(10, flow.frames - 1);
  await stepTo(frame);
  const [rows, cols] = flow.shape;
  const field = flow.data.truth.subarray(frame * rows * cols, (frame + 1) * rows * cols);
  let [hi, lo] = [0, 0];
  for (let k = 0; k < field.length; k++) { if (field[k] > field[hi]) hi = k; if (field[k] < field[lo]) lo = k; }
  assert.ok(field[hi] > 0 && field[lo] < 0, "vorticity takes both signs");
  const scale = Number(await page.evaluate(() => document.getElementById("panel-truth").dataset.scale));
  const cell = (k) => [(k % cols) * scale + Math.floor(scale / 2), Math.floor(k / cols) * scale + Math.floor(scale / 2)];
  const [red, blue] = await pixels("panel-truth", [cell(hi), cell(lo)]);
  assert.ok(red[0] > red[2] + 60, `the largest vorticity is drawn red: ${red}`);
  assert.ok(blue[2] > blue[0] + 60, `the most negative vorticity is drawn blue: ${blue}`);
  assert.ok(await page.locator("#panel-error").count() === 1, "the error panel is shown for fields");
  assert.equal(await page.locator("#spectrum .uplot").count(), 1, "the energy spectrum at the frame is charted");
  await page.screenshot({ path: path.join(shots, "kolmogorov-2d.png"), fullPage: true });

  // ------------------------------------------------------------ the static export
  step = "static export";
  const exported = path.resolve(runs, "..", "water-drop-2d.html");
  await page.goto(`file://${exported}`);
  await ready();
  await page.waitForSelector("#panel-truth");
  await stepTo(10);
  const drawn = await page.evaluate(() => {
    const c = document.getElementById("panel-truth");
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let colored = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 2] > d[i] + 60) colored++;
    return colored;
  });
  assert.ok(drawn > 100, `the exported page draws particles without a server (${drawn} water pixels)`);
  await page.screenshot({ path: path.join(shots, "export.png") });

  assert.deepEqual(problems, [], "no script errors on any page");
  console.log(`browser test passed: leaderboard, water-drop-2d (${sample.length} particles at frame ${f}), kolmogorov-2d (frame ${frame}), the static export; screenshots in ${shots}`);
} catch (e) {
  await page.screenshot({ path: path.join(shots, "failure.png"), fullPage: true }).catch(() => {});
  console.error(`browser test failed at ${step}: ${e.message}\n${problems.join("\n")}\nscreenshot: ${path.join(shots, "failure.png")}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
