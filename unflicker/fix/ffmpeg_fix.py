"""FFmpeg's deflicker + deband: the classic fix for whole-frame brightness pumping and codec banding.

``deflicker`` applies one gain per frame, computed from a window of ``size`` frames around it; ``deband``
smooths flat gradients that h264 turned into steps. Every parameter is validated against FFmpeg's own ranges
and the filter text is assembled from those numbers and a fixed mode name only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Optional

import numpy as np

from ..media import ffmpeg
from ..errors import UnflickerError, check_range
from ..progress import ProgressFn, report
from ..settings import Settings, setting

# FFmpeg's deflicker modes, minus "median": its implementation is known broken (it sorts the running window
# in place, so later frames are corrected against a scrambled window).
DEFLICKER_MODES = ("am", "gm", "hm", "qm", "cm", "pm")
DEFLICKER_MODE_NAMES = {
    "am": "arithmetic mean", "gm": "geometric mean", "hm": "harmonic mean",
    "qm": "quadratic mean", "cm": "cubic mean", "pm": "power mean",
}


@dataclass(frozen=True)
class FFmpegFixSettings(Settings):
    deflicker: bool = setting(True)
    size: int = setting(5, 2, 129, help="Frames in the deflicker window.")  # FFmpeg's own range
    mode: str = setting("am", choices=DEFLICKER_MODES, help=(
        "How the window's brightness is averaged (am = arithmetic mean). FFmpeg's median mode is left out: it is "
        "broken."))
    deband: bool = setting(True)
    threshold: float = setting(0.02, 0.00003, 0.5, step=0.001, label="deband threshold",
                               help="deband 1thr/2thr/3thr: higher smooths stronger steps.")  # FFmpeg's range
    deband_range: int = setting(16, 1, 64, label="deband range")  # search radius in pixels (we allow 1-64)
    blur: bool = setting(False, help="deband blur (off keeps detail).")

    def validated(self) -> "FFmpegFixSettings":
        if self.mode == "median":
            raise UnflickerError("mode 'median' is left out: FFmpeg's deflicker median mode is known broken; use am (the default), gm, hm, qm, cm or pm")
        if not isinstance(self.size, (int, np.integer)):
            check_range("size", self.size, 2, 129)  # an out-of-range value says so first
            raise UnflickerError(f"size must be a whole number of frames, got {self.size!r}")
        return super().validated()

    def _check(self) -> None:
        if not (self.deflicker or self.deband):
            raise UnflickerError("both deflicker and deband are switched off: enable at least one stage")

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
