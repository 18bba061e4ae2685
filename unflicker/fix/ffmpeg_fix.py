"""FFmpeg's deflicker + deband: the classic fix for whole-frame brightness pumping and codec banding.

``deflicker`` applies one gain per frame, computed from a window of ``size`` frames around it; ``deband``
smooths flat gradients that h264 turned into steps. The operation: :class:`FFmpegFixSettings` (every parameter
validated against FFmpeg's own ranges), ``plan(source, settings)`` -> :class:`FFmpegFixPlan` (the filter text,
assembled from those numbers and a fixed mode name only), ``run(frames, plan, progress)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Iterator, Optional

import numpy as np

from ..errors import UnflickerError
from ..media import ffmpeg
from ..operation import Source, check_source
from ..progress import ProgressFn, report
from ..settings import FFmpegFixSettings


def filtergraph(settings: FFmpegFixSettings) -> str:
    s = settings.validated()
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


@dataclass(frozen=True)
class FFmpegFixPlan:
    filtergraph: str
    width: int
    height: int
    fps: float  # the rate the frames are handed to FFmpeg at, as the source gives it
    frame_count: int  # frames the run yields (one per input frame); 0: not known
    rate: Optional[Fraction] = None  # the exact frame rate, the output's as the source's

    @property
    def progress_steps(self) -> int:
        return self.frame_count


def plan(source: Source, settings: FFmpegFixSettings = FFmpegFixSettings()) -> FFmpegFixPlan:
    """Everything the run needs, decided before a frame is read (FFmpeg takes frames of any size >= 1x1)."""
    check_source(source, min_frames=0, what="FFmpeg's deflicker + deband")
    if not source.fps or source.fps <= 0:
        raise UnflickerError(f"fps must be positive, got {source.fps!r}")
    return FFmpegFixPlan(filtergraph(settings), source.width, source.height, source.fps, source.frame_count or 0,
                         source.rate)


def run(frames: Iterable[np.ndarray], fix_plan: FFmpegFixPlan,
        progress: Optional[ProgressFn] = None) -> Iterator[np.ndarray]:
    """Stream uint8 RGB frames through the plan's filters; yields as many frames as it is given."""
    done = 0
    for frame in ffmpeg.filter_frames(frames, fix_plan.width, fix_plan.height, fix_plan.fps, fix_plan.filtergraph):
        done += 1
        report(progress, done, fix_plan.frame_count)
        yield frame


def fix_frames(frames: Iterable[np.ndarray], width: int, height: int, fps: float,
               settings: FFmpegFixSettings = FFmpegFixSettings(), progress: Optional[ProgressFn] = None,
               total: int = 0) -> Iterator[np.ndarray]:
    """plan + run in one call (the demo, tests and benchmarks)."""
    return run(frames, plan(Source(width, height, total or None, fps), settings), progress)
