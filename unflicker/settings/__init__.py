"""Settings users set, each defined once: default, range, step and help live on the field; one module per
capability (``deflicker`` with the FFmpeg fix, ``interpolate``, ``generate``, ``analysis``, ``media``) on the
machinery of ``base``.

A settings class is a frozen dataclass of :func:`setting` fields deriving from :class:`Settings`.
``validated()`` checks every field against its declared range or choices (the error names the setting) plus the
class's own cross-field rules (``_check``), and returns the instance unchanged; ``dataclasses.replace`` makes a
changed copy. The engines take a settings object (or keywords that become one), the nodes build their
INPUT_TYPES entries from the fields (``nodes/inputs.py``: ``setting_input``), and the CLI takes its defaults and
help from ``default()`` / ``spec()``.

This module imports nothing heavy (no torch, no OpenCV), so ``python -m unflicker --help`` stays fast; the
settings of the torch- and OpenCV-based engines live here and are re-exported by them::

    @dataclass(frozen=True)
    class Example(Settings):
        window: int = setting(9, 3, 31, step=2, help="Frames compared around each frame.")

    Example(window=11).validated()      # -> Example(window=11)
    Example.default("window")           # -> 9
"""


from ..kinds import DEFLICKER_MODES
from .analysis import AnalysisSettings, SideBySideSettings
from .base import MAX_SEED, SEED_HELP, Settings, check_multiple, setting
from .deflicker import FFMPEG_DEFLICKER_MODES, DeflickerSettings, FFmpegFixSettings
from .generate import (OFFLOAD_MODES, SVD_DTYPES, VIDEO_DTYPES, VIDEOGEN_SEED_HELP, VIDEOGEN_STEPS_HELP,
                       AnimateDiffSettings, CogVideoXSettings, PoseSettings, SVDExtendSettings, SVDSettings, WanSettings)
from .interpolate import InterpolateSettings
from .media import ReadOptions
from .repair import RepairSettings, parse_frame_list

__all__ = ["MAX_SEED", "SEED_HELP", "Settings", "check_multiple", "setting",
           "DEFLICKER_MODES", "DeflickerSettings", "FFMPEG_DEFLICKER_MODES", "FFmpegFixSettings", "InterpolateSettings",
           "AnalysisSettings", "SideBySideSettings", "ReadOptions", "RepairSettings", "parse_frame_list",
           "OFFLOAD_MODES", "SVD_DTYPES", "VIDEO_DTYPES", "VIDEOGEN_SEED_HELP", "VIDEOGEN_STEPS_HELP",
           "AnimateDiffSettings", "CogVideoXSettings", "PoseSettings", "SVDExtendSettings", "SVDSettings", "WanSettings"]
