"""What a batch runs on: the clips named by INPUTS (folders, globs, manifests, files) and where each one's output
goes (the input tree mirrored under ``--out``)."""

from __future__ import annotations

import csv
import glob
import json
import os
from dataclasses import dataclass

from ...errors import UnflickerError
from ...media.video import ANIMATED_EXTENSIONS, IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

MANIFEST_EXTENSIONS = (".csv", ".jsonl", ".parquet")
# a file the readers take as one clip; .webp is an animated clip beside videos, a frame inside a frame folder
CLIP_EXTENSIONS = VIDEO_EXTENSIONS + ANIMATED_EXTENSIONS


@dataclass(frozen=True)
class Clip:
    path: str      # absolute: a video file, an animated GIF/WebP or a folder of frames
    relative: str  # its place in the input tree, mirrored under --out


def find_clips(inputs: list[str], out_dir: str | None = None) -> list[Clip]:
    """Every clip the INPUTS name, in a stable order, each once. A folder is walked (a folder holding image files
    and no videos or sub-folders is one clip, a folder of frames); a manifest lists paths (relative to the manifest); a
    pattern is globbed (``**`` for any depth). Each clip's ``relative`` is its path under the common folder of
    what was given (for a manifest, of the paths it lists). Anything under ``out_dir`` (earlier outputs, when
    --out lies inside an input folder) and hidden files are left out."""
    found: list[tuple[str, str]] = []  # (path, the root its relative path starts from)
    for given in inputs:
        found += _expand(given)
    if out_dir:
        outside = os.path.abspath(out_dir) + os.sep
        found = [(p, r) for p, r in found if not (p + os.sep).startswith(outside)]
    if not found:
        raise UnflickerError(f"no clips found in {', '.join(map(repr, inputs))} (videos: "
                             f"{', '.join(CLIP_EXTENSIONS)}, or folders of frames)")
    root = os.path.commonpath([r for _, r in found])
    clips, seen = [], set()
    for path, _ in found:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            clips.append(Clip(path, os.path.relpath(path, root)))
    return clips


def _expand(given: str) -> list[tuple[str, str]]:
    path = os.path.abspath(given)
    if os.path.isdir(path):
        if _is_frame_folder(path):
            return [(path, os.path.dirname(path))]
        return [(clip, path) for clip in _walk(path)]
    if os.path.isfile(path) and path.lower().endswith(MANIFEST_EXTENSIONS):
        listed = [os.path.normpath(os.path.join(os.path.dirname(path), p)) for p in read_manifest(path)]
        if not listed:
            return []
        root = os.path.commonpath([os.path.dirname(p) for p in listed])
        return [(p, root) for p in listed]
    if os.path.isfile(path):
        return [(path, os.path.dirname(path))]
    if glob.has_magic(given):
        return _glob(given)
    raise UnflickerError(f"input not found: {given!r} (a folder, a video, a manifest {'/'.join(MANIFEST_EXTENSIONS)} "
                         "or a pattern such as 'renders/**/*.mp4')")


def _glob(pattern: str) -> list[tuple[str, str]]:
    base = os.path.abspath(_glob_base(pattern))
    found = []
    for match in sorted(glob.glob(pattern, recursive=True)):
        path = os.path.abspath(match)
        if os.path.isdir(path):
            found += [(clip, base) for clip in ([path] if _is_frame_folder(path) else _walk(path))]
        elif path.lower().endswith(CLIP_EXTENSIONS):
            found.append((path, base))
    return found


def _glob_base(pattern: str) -> str:
    """The folder a pattern starts in: its leading parts without wildcards."""
    parts = []
    for part in pattern.split(os.sep):
        if glob.has_magic(part):
            break
        parts.append(part)
    return os.sep.join(parts) or "."


def _walk(folder: str) -> list[str]:
    clips = []
    for here, dirs, files in os.walk(folder):
        keep = []
        for d in sorted(dirs):
            sub = os.path.join(here, d)
            if d.startswith("."):
                continue
            if _is_frame_folder(sub):
                clips.append(sub)
            else:
                keep.append(d)
        dirs[:] = keep  # a frame folder is one clip: not walked into
        clips += [os.path.join(here, f) for f in files if f.lower().endswith(CLIP_EXTENSIONS) and not f.startswith(".")]
    return sorted(clips)


def _is_frame_folder(folder: str) -> bool:
    """Image files, no videos and no sub-folders: a folder of frames. Other folders are walked, their images left
    alone (a cover picture beside the clips)."""
    entries = [e for e in os.scandir(folder) if not e.name.startswith(".")]
    if any(e.is_dir() for e in entries):
        return False
    names = [e.name.lower() for e in entries]
    has_video = any(n.endswith(VIDEO_EXTENSIONS + (".gif",)) for n in names)
    return not has_video and any(n.endswith(IMAGE_EXTENSIONS) for n in names)


def read_manifest(path: str) -> list[str]:
    """The ``path`` column of a CSV, JSON Lines or Parquet manifest, as written."""
    ext = os.path.splitext(path)[1].lower()
    if ext == ".csv":
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        columns = rows[0].keys() if rows else ()
    elif ext == ".jsonl":
        with open(path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        columns = set().union(*(r.keys() for r in rows)) if rows else ()
    else:
        rows, columns = _parquet_rows(path)
    if rows and "path" not in columns:
        raise UnflickerError(f"manifest {path!r} has no 'path' column (columns: {', '.join(columns)})")
    return [str(r["path"]) for r in rows if r.get("path")]


def _parquet_rows(path: str):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UnflickerError(f"manifest {path!r}: reading Parquet needs pyarrow (pip install pyarrow); or give a "
                             ".csv or .jsonl manifest") from None
    table = pq.read_table(path)
    if "path" not in table.column_names:
        return [{}], table.column_names
    return [{"path": p} for p in table.column("path").to_pylist()], ["path"]


def output_path(clip: Clip, out_dir: str, ext: str) -> str:
    """``clip``'s output: its relative path under ``out_dir``, named with ``ext`` (".json", ".mp4")."""
    stem = os.path.splitext(clip.relative)[0] if os.path.isfile(clip.path) else clip.relative
    return os.path.join(os.path.abspath(out_dir), stem + ext)


def check_outputs_distinct(pairs: list[tuple[Clip, str]]) -> None:
    """Two clips must not write one output (``a.mov`` and ``a.mp4`` analysed, a folder ``a/`` beside ``a.mp4``)."""
    first: dict[str, str] = {}
    for clip, output in pairs:
        if output in first:
            raise UnflickerError(f"{first[output]!r} and {clip.path!r} would both be written to {output!r}: rename "
                                 "one, or run them in separate batches")
        first[output] = clip.path
