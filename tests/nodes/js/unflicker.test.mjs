// Unit tests of the extension's pure parts (formatting, choice of numbers and curves, chart drawing) in Node.
// Run: node --import ./tests/nodes/js/register.mjs --test tests/nodes/js/   (tests/nodes/test_js_units.py runs it)
// The payloads below are shaped as docs/CONTRACTS.md says the nodes send them.
import assert from "node:assert/strict";
import { test } from "node:test";

import { app } from "../../../scripts/app.js";
import {
  EXTENSION_NAME, chartSeries, drawChart, formatChange, formatNumber, keyMeasures, viewUrl,
} from "../../../web/js/unflicker.js";

/** A 2D context that records the calls drawChart makes. */
function recordingContext() {
  const calls = [];
  const ctx = new Proxy({ calls, measureText: (t) => ({ width: t.length * 5 }) }, {
    get(target, key) {
      if (key in target) return target[key];
      return (...args) => calls.push([key, ...args]);
    },
    set(target, key, value) { calls.push(["set", key, value]); return true; },
  });
  return { ctx, calls };
}

test("registers one extension under its name", () => {
  assert.deepEqual(app.extensions.map((e) => e.name), [EXTENSION_NAME]);
  assert.equal(typeof app.extensions[0].beforeRegisterNodeDef, "function");
});

test("numbers and changes read well", () => {
  assert.equal(formatNumber(15.1234), "15.1");
  assert.equal(formatNumber(0.0061), "0.0061");
  assert.equal(formatNumber(0.000345), "3.45e-4");
  assert.equal(formatNumber(NaN), "NaN");
  assert.equal(formatChange(-61.23), "−61.2%");
  assert.equal(formatChange(3.1), "+3.1%");
  assert.equal(formatChange(undefined), "–");
});

test("view URLs go through ComfyUI's /view with encoded names", () => {
  assert.equal(viewUrl({ filename: "a b&c.mp4", subfolder: "x/y", type: "temp" }),
    "/api/view?filename=a+b%26c.mp4&subfolder=x%2Fy&type=temp");
});

test("the chart keeps to the contract's three curves, and their numbers come first", () => {
  const report = {
    measures: { blockiness: 1, mean_diff: 2, luma_hf: 3, other: 4, warp_error: 5 },
    series: { extra: [1, 2], mean_diff: [1, 2], luma_hf: [3, 4], warp_error: [5, 6], more: [1] },
  };
  assert.deepEqual(chartSeries(report).map(([n]) => n), ["warp_error", "mean_diff", "luma_hf"]);
  assert.deepEqual(keyMeasures(report, 4).map(([n]) => n), ["warp_error", "mean_diff", "luma_hf", "blockiness"]);
  assert.deepEqual(chartSeries({ series: { a: [1], b: [2] } }).map(([n]) => n), ["a", "b"]);
});

test("scene cuts are dashed lines at their frame, and do not set the scale", () => {
  const values = [1, 2, 1, 2, 50, 1, 2, 1, 2];
  const { ctx, calls } = recordingContext();
  drawChart(ctx, 212, 100, { series: { mean_diff: values }, scene_cuts: [4], fps: 8 });
  // plot spans x 6..206 for 9 frames: frame 4 sits at 106
  const dash = calls.findIndex(([k]) => k === "setLineDash");
  assert.ok(dash > -1);
  const cutLine = calls.slice(dash).find(([k]) => k === "moveTo");
  assert.deepEqual(cutLine, ["moveTo", 106.5, 16]);
  // the curve's maximum away from the cut is 2, so a 2 reaches the top of the plot and the 50 is clipped there
  const points = calls.filter(([k]) => k === "lineTo" || k === "moveTo").slice(-values.length);
  const ys = points.map(([, , y]) => y);
  assert.equal(Math.min(...ys), 16);
  assert.equal(ys[4], 16);
  assert.equal(ys[1], 16);
  assert.equal(ys[0], 16 + 70 / 2);
  const texts = calls.filter(([k]) => k === "fillText").map(([, t]) => t);
  assert.ok(texts.includes("mean_diff ≤2"), texts);
  assert.ok(texts.some((t) => t.startsWith("9 frames · 1.13 s · 1 cut")), texts);
});

test("a report without curves says so instead of drawing", () => {
  const { ctx, calls } = recordingContext();
  drawChart(ctx, 200, 100, { series: {} });
  assert.deepEqual(calls.filter(([k]) => k === "fillText").map(([, t]) => t), ["no per-frame data"]);
  assert.equal(calls.filter(([k]) => k === "lineTo").length, 0);
});

test("the look of the clip reads as a line per part found: seams and drift", async () => {
  const { lookLines } = await import("../../../web/js/unflicker.js");
  const report = {
    look: {
      seams: { found: true, frames: [12, 24, 36, 48, 60, 72, 84], period: 12, step: 2.345 },
      drift: { found: true, levels: [8.21, -0.4, -7.9], saturation_pct: 14.6, contrast_pct: -3, score: 1.03,
        frames: [0, 90] },
    },
  };
  assert.deepEqual(lookLines(report), [
    ["seams", "seams at frames 12, 24, 36, 48, 60, 72, … (7) (every 12 frames), step 2.35 levels"],
    ["drift", "drift R +8.21 G −0.4 B −7.9 levels, saturation +14.6% (1.03× threshold)"],
  ]);
  report.look.seams.found = false;
  report.look.drift.found = false;
  assert.deepEqual(lookLines(report), []);
  assert.deepEqual(lookLines({}), []);  // a report from before the look was sent
});
