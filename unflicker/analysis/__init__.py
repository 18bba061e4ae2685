"""Flicker analysis: separate flicker from motion, name its kind, say where it is and which fix to use.

The classic rule measures one number, the mean absolute difference of consecutive frames, and calls it
"generative" above 12 and "codec" below. That number is mostly motion. Here every consecutive pair is first lined up with
DIS optical flow (on a downscaled luma, for speed), pixels that fail the forward-backward check are masked out
(occlusions, things entering the frame), and only then are the changes measured:

- warping error (Lai et al. 2018): mean squared residual after motion compensation, on the 0-1 scale;
- brightness: the motion-compensated gain between frames (steady slope taken out), integrated to a brightness
  curve whose fast part (curve minus its centred moving median over a few frames) is flicker - fades are slow
  and do not count;
- colour: the same per channel, after removing the common (luma) part;
- regional: per-block gains, their spatial spread after removing the frame's global gain and offset;
- texture: fine-detail residual energy after motion compensation and gain removal (re-sampled detail);
- codec: 8x8 blockiness at native resolution, banding, and residual spikes at a fixed (keyframe) period;
- scene cuts (unflicker.measure.scenecut, the one decision the interpolation also uses): pairs across a cut are
  skipped by every motion-compensated measure.

Everything streams over frame pairs: only the previous frame and per-frame numbers are kept.

The package, by job: ``measures`` (the measures, the streaming pass, kinds/thresholds), ``report`` (Finding,
FlickerReport), ``diagnosis`` (measures -> kinds, findings, verdict), ``analyze`` (the operation: ``plan``
checks the clip, ``run`` streams it; analyze_frames / analyze_file), ``comparison`` (before / after: two
reports -> a Comparison), ``side_by_side`` (the side-by-side operation), ``chart`` (the per-frame chart),
``damage`` (damaged frames: flash frames and single-frame content breaks, for Repair Frames), ``seams`` (steps of
look between generated segments, their period), ``drift`` (the change of look of persisting content over a shot,
on flow-tracked keyframes), ``cases`` (the
labelled synthetic set for tests and benchmarks; imported on demand). Settings are
``unflicker.settings`` (AnalysisSettings, SideBySideSettings). Every public name is importable from
``unflicker.analysis``.
"""

from __future__ import annotations

from ..settings import AnalysisSettings
from .measures import (KINDS, FLICKER_KINDS, CLASSIC_THRESHOLD, LUMA_WEIGHTS, CODEC_CROP, GRID, THRESHOLDS,
                       KEYFRAME_PULSE, CODEC_WITH_TEXTURE, pair_abs_diff, blockiness, banding, keyframe_pulse,
                       classic_measures, classic_rule)
from .report import Finding, FlickerReport
from ..kinds import kinds_from_json
from .diagnosis import EXPLAIN, FIXES
from .analyze import AnalysisPlan, plan, run, file_source, analyze_frames, analyze_file
from .comparison import COMPARED, Comparison, compare_reports
from .chart import render_chart, save_chart
from .damage import DAMAGE_KINDS, DamagedFrame, damaged_from_json, find_damaged

__all__ = [
    'KINDS', 'FLICKER_KINDS', 'CLASSIC_THRESHOLD', 'LUMA_WEIGHTS', 'CODEC_CROP', 'GRID',
    'THRESHOLDS', 'KEYFRAME_PULSE', 'CODEC_WITH_TEXTURE', 'AnalysisSettings', 'pair_abs_diff', 'blockiness',
    'banding', 'keyframe_pulse', 'classic_measures', 'classic_rule', 'Finding', 'FlickerReport', 'EXPLAIN', 'FIXES',
    'AnalysisPlan', 'plan', 'run', 'file_source', 'analyze_frames', 'kinds_from_json', 'analyze_file', 'COMPARED', 'Comparison', 'compare_reports',
    'render_chart', 'save_chart', 'DAMAGE_KINDS', 'DamagedFrame', 'damaged_from_json', 'find_damaged',
]
