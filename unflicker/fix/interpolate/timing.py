"""The retiming, decided once before any frame is read: :func:`plan` turns a source and its settings into an
:class:`InterpolationPlan` (step, exact output rate, frame count and times, backend), which the stream and every
front-end read.

Output frame k shows the clip at position k * step (in input frames). A multiplier m: step 1/m,
n + (n-1)(m-1) frames (n*m with ``loop``: the last -> first pair too), originals at k*m. A target rate F (the
setting ``target_fps`` > 0; 0 means the multiplier): step fps / F, round(n * F / fps) frames, so frame k is at
exactly k / F seconds and the clip's duration is kept within one output frame; where that is an input frame's
time, the original is output.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

from ...errors import UnflickerError, check_range
from ...operation import Source, check_source, exact_rate
from ...settings import InterpolateSettings
from .backends import MissingModel, choose_backend

# two frames are the same picture (a held frame, a re-encode) when their mean absolute difference (0..255) is at
# most DUPLICATE_MAD and almost no pixel moved by more than a codec's noise (stream.is_near_duplicate)
DUPLICATE_MAD = 1.5


@dataclass(frozen=True)
class InterpolationPlan:
    """Everything decided before a frame is touched. ``rate`` None: the source has no rate (a multiplier
    still works); ``frame_count`` 0: the source's frame count is not known."""

    source: Source
    settings: InterpolateSettings
    step: Fraction  # input frames between two output frames
    rate: Optional[Fraction]  # the exact output frame rate
    frame_count: int  # output frames, for the source's frame count
    backend: str  # the backend that runs: torch | ncnn | flow
    flow_fallback: bool  # auto with a model folder: flow when ncnn cannot run
    model: Optional[str]  # weight file (torch) or model folder (ncnn)
    device: str = "auto"  # torch device ("auto": runtime.torch_device)
    half: bool = False  # torch: float16
    duplicate_mad: float = DUPLICATE_MAD  # 0 turns near-duplicate detection off
    missing_model: Optional[MissingModel] = None  # a model asked for and not found: flow runs in its place

    @property
    def loop(self) -> bool:
        return self.settings.loop

    @property
    def by_rate(self) -> bool:
        """Timed by a target rate (the count follows the duration) rather than a multiplier."""
        return self.settings.target_fps > 0

    @property
    def progress_steps(self) -> int:
        """Steps of progress the stream reports: one per input pair (0: the count is not known)."""
        return max(0, (self.source.frame_count or 0) - 1)

    def count_for(self, frames_in: int) -> int:
        """Output frames for ``frames_in`` input frames (the stream counts again on the frames it really read)."""
        return output_count(frames_in, self.step, self.by_rate, self.loop)

    @property
    def positions(self) -> tuple:
        """Where each output frame sits, in input frames (Fractions)."""
        return tuple(k * self.step for k in range(self.frame_count))

    @property
    def times(self) -> Optional[tuple]:
        """Each output frame's time in seconds (Fractions): k / rate; None when the source has no rate."""
        return None if self.rate is None else tuple(k / self.rate for k in range(self.frame_count))


def plan(source: Source, settings: InterpolateSettings, model: Optional[str] = None, *, device: str = "auto",
         half: bool = False, duplicate_mad: float = DUPLICATE_MAD,
         missing_model: Optional[MissingModel] = None) -> InterpolationPlan:
    """Check ``source`` (every backend takes any size from 1x1; at least 2 frames), choose the backend and time
    the output. ``model``: a weight file or an ncnn model folder; ``device``/``half``: where torch runs;
    ``missing_model``: the model asked for by name was not found (``model`` None): flow runs for auto and flow,
    torch and ncnn are refused (``backends.choose_backend``)."""
    settings = settings.validated()
    check_source(source, min_frames=2, what="interpolation")
    check_range("duplicate_mad", duplicate_mad, 0.0, 255.0)
    fps = source.rate
    by_rate = settings.target_fps > 0
    if by_rate:
        if fps is None:
            raise UnflickerError("target_fps needs the input fps")
        rate = exact_rate(settings.target_fps)
        if rate < fps:
            raise UnflickerError(f"target_fps {settings.target_fps:g} is below the input's {float(fps):g} fps: "
                                 "interpolation adds frames; drop frames with a frame-rate conversion instead")
        step = fps / rate
    else:
        step = Fraction(1, settings.multiplier)
        rate = None if fps is None else fps * settings.multiplier
    backend, flow_fallback = choose_backend(settings.backend, model, missing_model)
    count = output_count(source.frame_count or 0, step, by_rate, settings.loop)
    return InterpolationPlan(source, settings, step, rate, count, backend, flow_fallback, model, device, half,
                             duplicate_mad, missing_model)


def output_count(frames_in: int, step: Fraction, by_rate: bool, loop: bool) -> int:
    """The one frame-count rule: by rate, the duration kept (round(n / step)); by a multiplier, every pair
    filled (n + (n-1)(m-1), or n*m with the last -> first pair)."""
    if not frames_in:
        return 0
    if by_rate:
        return max(1, round(frames_in / step))
    per_pair = round(1 / step)
    return frames_in * per_pair if loop else (frames_in - 1) * per_pair + 1
