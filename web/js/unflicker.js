// ComfyUI-Unflicker frontend: shows what the nodes return in their `ui` result, inside the node.
//   unflicker_report  (Analyze Flicker)  -> verdict, kinds, the look (seams, drift), key numbers and a per-frame
//                                           chart with scene cuts
//   unflicker_compare (Compare Flicker)  -> verdict and the % change of each measure, before -> after
//   unflicker_video   (Save Video, Side by Side) -> a playable <video> (mp4) or <img> (animated WebP/GIF)
// The payloads (keys, types) are written down in docs/CONTRACTS.md. The Python side works the same without this
// file; headless runs ignore `ui`.

import { app } from "../../../scripts/app.js";
import { api } from "../../../scripts/api.js";

export const EXTENSION_NAME = "Unflicker.NodeViews";
const REPORT_WIDGET = "unflicker_report_view";
const COMPARE_WIDGET = "unflicker_compare_view";
const VIDEO_WIDGET = "unflicker_video_view";
// ComfyUI core's own preview widgets, replaced by ours on nodes that send unflicker_video
const CORE_PREVIEW_WIDGETS = ["video-preview", "$$comfy_animation_preview"];
const MAX_NUMBERS = 6;
const CHART_HEIGHT = 120;
const SERIES_COLOURS = ["#f2b134", "#4fc3f7", "#b388ff"];
// the curves the analyzer always sends (docs/CONTRACTS.md); more than three lines in a node-sized chart is noise
const CHART_SERIES = ["warp_error", "mean_diff", "luma_hf"];

const STYLE = `
.unflicker-view { box-sizing: border-box; width: 100%; height: 100%; display: flex; flex-direction: column;
  padding: 4px 6px; font: 12px/1.35 sans-serif;
  color: var(--input-text, #ddd); background: var(--comfy-input-bg, #222); border-radius: 6px; overflow: hidden; }
.unflicker-verdict { font-weight: 600; font-size: 13px; margin-bottom: 3px; white-space: normal; }
.unflicker-verdict[data-steady="true"] { color: #81c784; }
.unflicker-verdict[data-steady="false"] { color: #f2b134; }
.unflicker-kinds { margin-bottom: 3px; }
.unflicker-look { margin-bottom: 3px; font-size: 11px; }
.unflicker-look div[data-found="true"] { color: #f2b134; }
.unflicker-kind { display: inline-block; padding: 0 5px; margin: 0 3px 2px 0; border-radius: 8px;
  background: rgba(255,255,255,0.12); font-size: 11px; }
.unflicker-numbers { display: grid; grid-template-columns: 1fr 1fr; column-gap: 10px; margin-bottom: 3px; }
.unflicker-numbers span { display: flex; justify-content: space-between; gap: 6px; }
.unflicker-numbers b { font-weight: 600; font-variant-numeric: tabular-nums; }
.unflicker-chart { display: block; width: 100%; flex: 1 1 auto; min-height: ${CHART_HEIGHT}px; border-radius: 4px;
  background: rgba(0,0,0,0.35); }
.unflicker-changes { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
.unflicker-changes td, .unflicker-changes th { padding: 0 4px; text-align: right; }
.unflicker-changes td:first-child, .unflicker-changes th:first-child { text-align: left; }
.unflicker-better { color: #81c784; }
.unflicker-worse { color: #e57373; }
.unflicker-media { display: block; width: 100%; flex: 1 1 auto; min-height: 0; object-fit: contain; background: #000;
  border-radius: 4px; }
.unflicker-caption { font-size: 11px; opacity: 0.8; margin-top: 2px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
`;

function ensureStyle() {
  if (document.getElementById("unflicker-style")) return;
  const style = document.createElement("style");
  style.id = "unflicker-style";
  style.textContent = STYLE;
  document.head.appendChild(style);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function formatNumber(value) {
  if (typeof value !== "number" || !Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 0.001 || abs >= 1e5)) return value.toExponential(2);
  return Number(value.toPrecision(3)).toString();
}

export function formatChange(percent) {
  if (typeof percent !== "number" || !Number.isFinite(percent)) return "–";
  const sign = percent > 0 ? "+" : percent < 0 ? "−" : "±";
  return `${sign}${Math.abs(percent).toFixed(1)}%`;
}

export function viewUrl(entry) {
  const params = new URLSearchParams({
    filename: entry.filename,
    subfolder: entry.subfolder ?? "",
    type: entry.type ?? "output",
  });
  return api.apiURL(`/view?${params}`);
}

/** The curves to draw: the contract's three when present, else the first three the report has. */
export function chartSeries(report) {
  const all = Object.entries(report.series ?? {}).filter(([, v]) => Array.isArray(v) && v.length);
  const preferred = CHART_SERIES.map((name) => all.find(([n]) => n === name)).filter(Boolean);
  return (preferred.length ? preferred : all).slice(0, SERIES_COLOURS.length);
}

/** Draw the per-frame series and the scene cuts. Each series is scaled to its own maximum (they have different
 * units), taken away from the cuts: a change of shot is a big jump that would flatten the flicker into a line. */
export function drawChart(ctx, width, height, report) {
  const series = chartSeries(report);
  const frames = Math.max(0, ...series.map(([, v]) => v.length));
  const pad = { left: 6, right: 6, top: 16, bottom: 14 };
  const plotW = Math.max(1, width - pad.left - pad.right);
  const plotH = Math.max(1, height - pad.top - pad.bottom);
  ctx.clearRect(0, 0, width, height);
  ctx.font = "10px sans-serif";
  ctx.textBaseline = "top";
  if (!frames) {
    ctx.fillStyle = "#aaa";
    ctx.fillText("no per-frame data", pad.left, pad.top);
    return;
  }
  const x = (i) => pad.left + (frames > 1 ? (i / (frames - 1)) * plotW : plotW / 2);

  ctx.strokeStyle = "rgba(255,255,255,0.15)";
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(pad.left, pad.top + plotH + 0.5);
  ctx.lineTo(pad.left + plotW, pad.top + plotH + 0.5);
  ctx.stroke();

  // scene cuts: a change of shot is not flicker, so mark where the analyzer saw one
  ctx.save();
  ctx.strokeStyle = "rgba(255,255,255,0.55)";
  ctx.setLineDash([3, 3]);
  for (const cut of report.scene_cuts ?? []) {
    if (cut < 0 || cut >= frames) continue;
    const cx = Math.round(x(cut)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(cx, pad.top);
    ctx.lineTo(cx, pad.top + plotH);
    ctx.stroke();
  }
  ctx.restore();

  let legendX = pad.left;
  series.forEach(([name, values], k) => {
    const colour = SERIES_COLOURS[k % SERIES_COLOURS.length];
    const cuts = new Set(report.scene_cuts ?? []);
    const within = values.filter((v, i) => Number.isFinite(v) && !cuts.has(i));
    const max = Math.max(1e-12, ...(within.length ? within : values.filter(Number.isFinite)).map(Math.abs));
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let drawing = false;
    values.forEach((v, i) => {
      if (!Number.isFinite(v)) { drawing = false; return; }
      const y = pad.top + plotH - Math.min(1, Math.max(0, v) / max) * plotH;
      if (drawing) ctx.lineTo(x(i), y); else ctx.moveTo(x(i), y);
      drawing = true;
    });
    ctx.stroke();
    const label = `${name} ≤${formatNumber(max)}`;
    ctx.fillStyle = colour;
    ctx.fillText(label, legendX, 2);
    legendX += ctx.measureText(label).width + 10;
  });

  ctx.fillStyle = "#aaa";
  ctx.textBaseline = "bottom";
  const fps = Number(report.fps) || 0;
  const span = fps > 0 ? `${frames} frames · ${formatNumber(frames / fps)} s` : `${frames} frames`;
  const cuts = (report.scene_cuts ?? []).length;
  ctx.fillText(cuts ? `${span} · ${cuts} cut${cuts > 1 ? "s" : ""} (dashed)` : span, pad.left, height);
}

function addView(node, name, element, getMinHeight) {
  const existing = node.widgets?.find((w) => w.name === name);
  if (existing) {
    existing.element.replaceChildren(...element.childNodes);
    existing.options.getMinHeight = getMinHeight;
    return existing;
  }
  const widget = node.addDOMWidget(name, "unflicker_view", element, {
    serialize: false, // a view, not an input: stays out of the prompt and of widgets_values
    hideOnZoom: false,
    getMinHeight,
  });
  widget.serialize = false;
  widget.serializeValue = () => undefined;
  return widget;
}

function fitNode(node, minWidth) {
  const size = node.computeSize();
  node.setSize([Math.max(node.size[0], minWidth, size[0]), Math.max(node.size[1], size[1])]);
  node.setDirtyCanvas(true, true);
}

function signed(value) {
  const text = formatNumber(Math.abs(value));
  return `${value < 0 ? "−" : "+"}${text}`;
}

function frameList(frames, most = 6) {
  const shown = frames.slice(0, most).join(", ");
  return frames.length > most ? `${shown}, … (${frames.length})` : shown;
}

/** The look of the clip in words, one line per part found: seams (frames, period, step) and drift (levels per
 * channel, saturation). Nothing when neither was found or the report has no `look` (an older pack). */
export function lookLines(report) {
  const look = report.look ?? {};
  const lines = [];
  const seams = look.seams;
  if (seams?.found) {
    const every = seams.period ? ` (every ${seams.period} frames)` : "";
    lines.push(["seams", `seams at frames ${frameList(seams.frames ?? [])}${every}, step ${formatNumber(seams.step)} levels`]);
  }
  const drift = look.drift;
  if (drift?.found) {
    const [r, g, b] = drift.levels ?? [0, 0, 0];
    lines.push(["drift", `drift R ${signed(r)} G ${signed(g)} B ${signed(b)} levels, saturation `
      + `${signed(drift.saturation_pct)}% (${formatNumber(drift.score)}× threshold)`]);
  }
  return lines;
}

/** The numbers worth a glance: those with a per-frame curve in the chart first, then the rest, in given order. */
export function keyMeasures(report, count = MAX_NUMBERS) {
  const measures = report.measures ?? {};
  const charted = chartSeries(report).map(([name]) => name).filter((name) => name in measures);
  const rest = Object.keys(measures).filter((name) => !charted.includes(name));
  return [...charted, ...rest].slice(0, count).map((name) => [name, measures[name]]);
}

function showReport(node, report) {
  const view = el("div", "unflicker-view unflicker-report");
  const steady = (report.kinds ?? []).length === 1 && report.kinds[0] === "steady";
  const verdict = el("div", "unflicker-verdict", report.verdict ?? "");
  verdict.dataset.steady = String(steady);
  view.append(verdict);
  if (report.kinds?.length) {
    const kinds = el("div", "unflicker-kinds");
    for (const kind of report.kinds) kinds.append(el("span", "unflicker-kind", kind));
    view.append(kinds);
  }
  const look = lookLines(report);
  if (look.length) {
    const box = el("div", "unflicker-look");
    for (const [kind, text] of look) {
      const line = el("div", "", text);
      line.dataset.found = "true";
      line.dataset.kind = kind;
      box.append(line);
    }
    view.append(box);
  }
  const measures = keyMeasures(report);
  if (measures.length) {
    const numbers = el("div", "unflicker-numbers");
    for (const [name, value] of measures) {
      const item = el("span");
      item.append(el("span", "", name), el("b", "", formatNumber(value)));
      numbers.append(item);
    }
    view.append(numbers);
  }
  view.append(el("canvas", "unflicker-chart"));

  const widget = addView(node, REPORT_WIDGET, view, () => 0);
  const container = widget.element;
  const chart = container.querySelector("canvas.unflicker-chart");
  const redraw = () => {
    const width = Math.max(120, chart.clientWidth || node.size[0] - 20);
    const height = Math.max(CHART_HEIGHT, chart.clientHeight);
    // twice the CSS size, so the curve stays sharp when the canvas is zoomed in
    const scale = (window.devicePixelRatio || 1) * 2;
    chart.width = Math.round(width * scale);
    chart.height = Math.round(height * scale);
    const ctx = chart.getContext("2d");
    ctx.setTransform(scale, 0, 0, scale, 0, 0);
    drawChart(ctx, width, height, report);
  };
  node.unflickerChartObserver?.disconnect();
  node.unflickerChartObserver = new ResizeObserver(redraw);
  node.unflickerChartObserver.observe(chart);
  redraw();
  const rows = Math.ceil(measures.length / 2);
  const textLines = Math.ceil(String(report.verdict ?? "").length / 48);
  widget.options.getMinHeight = () => 20 + textLines * 19 + (report.kinds?.length ? 22 : 0) + look.length * 30
    + rows * 17 + CHART_HEIGHT;
  fitNode(node, 340);
}

function showCompare(node, comparison) {
  const view = el("div", "unflicker-view unflicker-compare");
  view.append(el("div", "unflicker-verdict", comparison.verdict ?? ""));
  const names = Object.keys(comparison.changes ?? {});
  if (names.length) {
    const table = el("table", "unflicker-changes");
    const head = el("tr");
    for (const h of ["measure", "before", "after", "change"]) head.append(el("th", "", h));
    table.append(head);
    for (const name of names) {
      const change = comparison.changes[name];
      const row = el("tr");
      row.append(el("td", "", name),
        el("td", "", formatNumber(comparison.before?.[name])),
        el("td", "", formatNumber(comparison.after?.[name])));
      // the measures are amounts of flicker: a drop is an improvement
      const cell = el("td", change < 0 ? "unflicker-better" : change > 0 ? "unflicker-worse" : "", formatChange(change));
      row.append(cell);
      table.append(row);
    }
    view.append(table);
  }
  const textLines = Math.ceil(String(comparison.verdict ?? "").length / 48);
  addView(node, COMPARE_WIDGET, view, () => 12 + textLines * 18 + (names.length ? (names.length + 1) * 17 : 0));
  fitNode(node, 320);
}

function removeCorePreview(node) {
  // Save Video also sends `images` + `animated` so ComfyUI shows something without this extension; with it,
  // our preview takes over and the core one would be a duplicate (and cannot play GIF).
  node.imgs = undefined;
  for (const name of CORE_PREVIEW_WIDGETS) {
    const i = node.widgets?.findIndex((w) => w.name === name) ?? -1;
    if (i > -1) {
      node.widgets[i].onRemove?.();
      node.widgets.splice(i, 1);
    }
  }
}

function showVideo(node, entry) {
  const view = el("div", "unflicker-view unflicker-video");
  const isImage = String(entry.format ?? "").startsWith("image/") || /\.(gif|webp)$/i.test(entry.filename);
  const media = el(isImage ? "img" : "video", "unflicker-media");
  if (!isImage) Object.assign(media, { controls: true, loop: true, muted: true, autoplay: true, playsInline: true });
  media.src = viewUrl(entry);
  media.dataset.filename = entry.filename;
  view.append(media);
  const fps = Number(entry.frame_rate);
  const bits = [entry.filename];
  if (entry.frame_count) bits.push(`${entry.frame_count} frames`);
  if (fps > 0) bits.push(`${formatNumber(fps)} fps`);
  const caption = el("div", "unflicker-caption", bits.join(" · "));
  caption.title = bits.join(" · ");
  view.append(caption);

  let aspect = 9 / 16;
  const height = () => Math.max(80, (node.size[0] - 24) * aspect) + 26;
  const widget = addView(node, VIDEO_WIDGET, view, height);
  const shown = widget.element.querySelector(".unflicker-media");
  const onSize = () => {
    const w = shown.videoWidth || shown.naturalWidth;
    const h = shown.videoHeight || shown.naturalHeight;
    if (w && h) aspect = h / w;
    fitNode(node, 300);
  };
  shown.addEventListener(isImage ? "load" : "loadedmetadata", onSize, { once: true });
  shown.addEventListener("error", () => console.warn(`[Unflicker] preview could not load: ${entry.filename}`), { once: true });
  fitNode(node, 300);
}

/** Render whatever Unflicker views an execution result carries. Exposed for tests and other extensions. */
export function renderOutput(node, output) {
  if (!output || typeof node.addDOMWidget !== "function") return; // a frontend without DOM widgets: nothing to add
  ensureStyle();
  const report = output.unflicker_report?.[0];
  if (report) showReport(node, report);
  const comparison = output.unflicker_compare?.[0];
  if (comparison) showCompare(node, comparison);
  const video = output.unflicker_video?.[0];
  if (video) {
    node.unflickerOwnsPreview = true;
    removeCorePreview(node);
    showVideo(node, video);
  }
}

app.registerExtension({
  name: EXTENSION_NAME,
  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (!nodeData?.name?.startsWith("Unflicker")) return;

    const onExecuted = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (output) {
      const result = onExecuted?.apply(this, arguments);
      try {
        renderOutput(this, output);
      } catch (error) {
        console.error(`[Unflicker] could not show the result of ${nodeData.name}`, error);
      }
      return result;
    };

    // ComfyUI draws `images` previews from onDrawBackground; skip that once our own preview is in place.
    const onDrawBackground = nodeType.prototype.onDrawBackground;
    nodeType.prototype.onDrawBackground = function () {
      if (this.unflickerOwnsPreview) return;
      return onDrawBackground?.apply(this, arguments);
    };

    const onRemoved = nodeType.prototype.onRemoved;
    nodeType.prototype.onRemoved = function () {
      this.unflickerChartObserver?.disconnect();
      return onRemoved?.apply(this, arguments);
    };
  },
});
