"""The per-frame chart of a report (render_chart / save_chart)."""

from __future__ import annotations

import numpy as np

from .measures import CLASSIC_THRESHOLD, THRESHOLDS
from .report import FlickerReport


# ---------------------------------------------------------------- chart
_PANELS = (  # (title, ((series, label, colour, threshold line or None), ...))
    ("Frame-to-frame change", (("mean_diff", "classic mean diff (levels)", (150, 150, 150), CLASSIC_THRESHOLD),
                               ("warp_error", "warping error x1000", (220, 60, 40), None))),
    ("Look of the clip: seams and drift", (
        ("seam_step", "look step (levels; seams stand out)", (0, 170, 170), None),
        ("drift", "drift so far (x threshold)", (200, 90, 150), 1.0))),
    ("Brightness and colour flicker (fast part, %)", (("luma_hf", "brightness", (240, 170, 0), THRESHOLDS["brightness"]),
                                                      ("colour_hf", "colour", (150, 60, 200), THRESHOLDS["colour"]))),
    ("Local flicker", (("regional", "regional gain spread %", (0, 140, 200), THRESHOLDS["regional"]),
                       ("texture", "fine-detail residual ratio", (40, 160, 60), THRESHOLDS["texture"]))),
)


def _dashed(draw, x0: float, x1: float, y: float, fill, dash: int = 6) -> None:
    x = x0
    while x < x1:
        draw.line((x, y, min(x + dash, x1), y), fill=fill, width=1)
        x += 2 * dash


def render_chart(rep: FlickerReport, width: int = 960, height: int = 600) -> np.ndarray:
    """A readable picture of the per-frame curves, uint8 (H, W, 3): scene cuts as red dashed verticals, each
    curve's detection threshold as a thin dashed line in its colour (the classic rule's 12 for the classic diff), and
    every panel scaled to show its thresholds, so noise far below them looks small."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    try:
        font, small = ImageFont.load_default(15), ImageFont.load_default(12)
    except TypeError:  # Pillow < 10.1
        font = small = ImageFont.load_default()
    draw.text((12, 8), rep.verdict[:130], fill=(0, 0, 0), font=font)
    left, right, top, bottom = 64, width - 16, 36, height - 30
    panel_h = (bottom - top) / len(_PANELS)
    n = max(rep.frame_count, 2)
    xs = lambda i: left + (right - left) * i / (n - 1)
    for p, (title, curves) in enumerate(_PANELS):
        y0 = top + p * panel_h + 18
        y1 = top + (p + 1) * panel_h - 8
        draw.rectangle((left, y0, right, y1), outline=(180, 180, 180))
        draw.text((left + 4, y0 - 17), title, fill=(40, 40, 40), font=small)
        values = [np.abs(np.asarray(rep.series.get(name, ()), np.float64)) for name, _, _, _ in curves]
        limits = [float(v.max()) for v in values if len(v)] + [1.5 * t for _, _, _, t in curves if t]
        vmax = max(limits + [1e-6]) * 1.1
        yv = lambda value: y1 - (y1 - y0) * value / vmax
        for frac in (0.0, 0.5, 1.0):
            y = y1 - (y1 - y0) * frac
            draw.line((left - 4, y, left, y), fill=(120, 120, 120))
            draw.text((4, y - 7), f"{vmax * frac:.3g}", fill=(90, 90, 90), font=small)
        for cut in rep.scene_cuts:
            x = xs(cut - 0.5)
            for yy in range(int(y0), int(y1), 8):
                draw.line((x, yy, x, min(yy + 4, y1)), fill=(230, 0, 0), width=2)
        for k, (name, label, colour, threshold) in enumerate(curves):
            if threshold:
                light = tuple(int(c + (255 - c) * 0.4) for c in colour)
                _dashed(draw, left + 1, right - 1, yv(threshold), light)
                text = f"classic rule: > {threshold:g} = generative" if name == "mean_diff" else f"{label.split(' (')[0]} threshold"
                draw.text((left + 6 + k * (right - left) * 0.35, yv(threshold) - 16), text, fill=light, font=small)
        lx = right - 10
        for (name, label, colour, _), v in reversed(list(zip(curves, values))):
            pts = [(xs(i), yv(float(v[i]))) for i in range(len(v))]
            if len(pts) > 1:
                draw.line(pts, fill=colour, width=2)
            tw = draw.textlength(label, font=small)
            lx -= tw + 26
            draw.line((lx, y0 + 9, lx + 16, y0 + 9), fill=colour, width=3)
            draw.text((lx + 20, y0 + 2), label, fill=(40, 40, 40), font=small)
    step = max(1, int(round(n / 12)))
    for i in range(0, n, step):
        draw.text((xs(i) - 6, bottom - 4), str(i), fill=(90, 90, 90), font=small)
    draw.text((right - 300, height - 16), "frame   | dashed: thresholds" + ("; red: scene cuts" if rep.scene_cuts else ""),
              fill=(90, 90, 90), font=small)
    return np.asarray(img)


def save_chart(rep: FlickerReport, path: str) -> str:
    from PIL import Image

    Image.fromarray(render_chart(rep)).save(path)
    return path
