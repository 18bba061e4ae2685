"""FFmpeg's deflicker + deband: the classic fix for whole-frame brightness pumping and codec banding.

``deflicker`` applies one gain per frame, computed from a window of ``size`` frames around it; ``deband``
smooths flat gradients that h264 turned into steps. Every parameter is validated against FFmpeg's own ranges
and the filter text is assembled from those numbers and a fixed mode name only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Optional

import numpy as np

from . import ffmpeg
from .errors import UnflickerError, check_choice, check_range
from .progress import ProgressFn, report

# FFmpeg's deflicker modes, minus "median": its implementation is known broken (it sorts the running window
# in place, so later frames are corrected against a scrambled window).
DEFLICKER_MODES = ("am", "gm", "hm", "qm", "cm", "pm")
DEFLICKER_MODE_NAMES = {
    "am": "arithmetic mean", "gm": "geometric mean", "hm": "harmonic mean",
    "qm": "quadratic mean", "cm": "cubic mean", "pm": "power mean",
}


@dataclass(frozen=True)
class FFmpegFixSettings:
    deflicker: bool = True
    size: int = 5  # frames in the deflicker window (FFmpeg: 2-129)
    mode: str = "am"
    deband: bool = True
    threshold: float = 0.02  # deband 1thr/2thr/3thr (FFmpeg: 0.00003-0.5)
    deband_range: int = 16  # deband search radius in pixels (FFmpeg: -? to ?; we allow 1-64)
    blur: bool = False

    def validated(self) -> "FFmpegFixSettings":
        if self.mode == "median":
            raise UnflickerError("mode 'median' is left out: FFmpeg's deflicker median mode is known broken; use am (the default), gm, hm, qm, cm or pm")
        check_choice("mode", self.mode, DEFLICKER_MODES)
        check_range("size", self.size, 2, 129)
        if not isinstance(self.size, (int, np.integer)):
            raise UnflickerError(f"size must be a whole number of frames, got {self.size!r}")
        check_range("deband threshold", float(self.threshold), 0.00003, 0.5)
        check_range("deband range", self.deband_range, 1, 64)
        if not (self.deflicker or self.deband):
            raise UnflickerError("both deflicker and deband are switched off: enable at least one stage")
        return self

    def filtergraph(self) -> str:
        s = self.validated()
        # Work in planar RGB: no YUV round trip, so the colours we hand back are the colours we got.
        graph = "format=gbrp"
        if s.deflicker:
            # FFmpeg's deflicker corrects plane 0 only (luma in YUV, green in RGB), which turns brightness
            # flicker into colour flicker on RGB frames. Run it on each channel and merge them back instead.
            d = f"deflicker=size={int(s.size)}:mode={s.mode}"
            graph += (f",extractplanes=r+g+b[r][g][b];[r]{d}[r2];[g]{d}[g2];[b]{d}[b2];"
                      "[g2][b2][r2]mergeplanes=map0s=0:map1s=1:map2s=2:format=gbrp")
        if s.deband:
            t = f"{float(s.threshold):.6f}"
            graph += f",deband=1thr={t}:2thr={t}:3thr={t}:range={int(s.deband_range)}:blur={int(bool(s.blur))}"
        return graph


def fix_frames(frames: Iterable[np.ndarray], width: int, height: int, fps: float,
               settings: FFmpegFixSettings = FFmpegFixSettings(), progress: Optional[ProgressFn] = None,
               total: int = 0) -> Iterator[np.ndarray]:
    """Stream uint8 RGB frames through deflicker + deband; yields as many frames as it is given."""
    graph = settings.filtergraph()
    done = 0
    for frame in ffmpeg.filter_frames(frames, width, height, fps, graph):
        done += 1
        report(progress, done, total)
        yield frame
