"""Settings of Repair Frames: which frames, and the interpolation backend that rebuilds them (the backend's
settings are interpolation's own fields, declared there once)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import UnflickerError
from .base import Settings, setting
from .interpolate import InterpolateSettings

# interpolation's settings that Repair Frames uses as they are
BACKEND_FIELDS = ("backend", "scene_threshold", "gpu_id", "threads", "uhd", "tta", "batch_size", "max_side")
_ITEM = re.compile(r"^(\d+)(?:\s*-\s*(\d+))?$")
MAX_LISTED = 100_000  # frames a list may name (a typo like "1-9999999" is refused, not expanded)


def _same_as_interpolation(name: str):
    """The field ``name`` of InterpolateSettings: the same default, range and help."""
    spec = InterpolateSettings.spec(name)
    return setting(spec["default"], spec["low"], spec["high"], step=spec["step"], choices=spec["choices"],
                   label=spec["label"], help=spec["help"])


def parse_frame_list(text: str, name: str = "frames") -> tuple[int, ...]:
    """'12, 40-41' -> (12, 40, 41): 0-based frame numbers as the analyzer reports them, single or ranges,
    separated by commas or spaces; sorted, each once. A malformed item raises, naming it."""
    frames: set[int] = set()
    for item in re.split(r"[,;\s]+", re.sub(r"\s*-\s*", "-", (text or "").strip())):
        if not item:
            continue
        match = _ITEM.match(item)
        if match is None:
            raise UnflickerError(f"{name}: {item!r} is not a frame number or a range; write 0-based frame numbers "
                                 f"as the analyzer reports them, e.g. \"12, 40-41\"")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if last < first:
            raise UnflickerError(f"{name}: range {item!r} runs backwards; write it as {last}-{first}")
        if len(frames) + last - first + 1 > MAX_LISTED:
            raise UnflickerError(f"{name}: {item!r} names more than {MAX_LISTED} frames")
        frames.update(range(first, last + 1))
    return tuple(sorted(frames))


@dataclass(frozen=True)
class RepairSettings(Settings):
    frames: str = setting("", help=(
        "Frames to rebuild, 0-based as Analyze Flicker reports them: \"12, 40-41\". Added to the frames the "
        "analyzer flags when use_analysis is on."))
    use_analysis: bool = setting(True, help=(
        "Rebuild the frames the analyzer flags as damaged (flash frames, single-frame content breaks): those of "
        "the connected diagnosis, else found here with the analyzer's own check (the clip is read twice)."))
    backend: str = _same_as_interpolation("backend")
    scene_threshold: float = _same_as_interpolation("scene_threshold")
    gpu_id: int = _same_as_interpolation("gpu_id")
    threads: int = _same_as_interpolation("threads")
    uhd: bool = _same_as_interpolation("uhd")
    tta: bool = _same_as_interpolation("tta")
    batch_size: int = _same_as_interpolation("batch_size")
    max_side: int = _same_as_interpolation("max_side")

    @property
    def listed(self) -> tuple[int, ...]:
        """The user's frames, parsed."""
        return parse_frame_list(self.frames)

    def interpolation(self) -> InterpolateSettings:
        """The backend's settings as interpolation takes them."""
        return InterpolateSettings(**{k: getattr(self, k) for k in BACKEND_FIELDS}).validated()

    def _check(self) -> None:
        if not isinstance(self.frames, str):
            raise UnflickerError(f"frames must be text like \"12, 40-41\"; got {type(self.frames).__name__}")
        listed = self.listed
        if not listed and not self.use_analysis:
            raise UnflickerError("nothing to repair: frames is empty and use_analysis is off; list frames "
                                 "(\"12, 40-41\") or turn use_analysis on")
