"""ComfyUI's model folders in one place: register a folder kind, list a model input's choices, resolve a choice.

A *choice* names a model by its path relative to one of ComfyUI's folders of its kind, exactly as ComfyUI's own
loaders name files: a file (``svd_xt.safetensors``, ``sub/mm_sd_v15_v2.ckpt``) or a model folder, i.e. a
folder holding a marker file such as diffusers' ``model_index.json`` (``stable-video-diffusion-img2vid-xt``,
``rife-v4.6``). A name never climbs out of the model folder. One error type, :class:`ModelNotFound`, always
names the node input, the choice, the folder kind and where that folder is on disk.

Choice strings written by earlier versions of the pack (``diffusers/<folder>``, ``checkpoints/<file>``,
``[diffusers] <folder>``) still resolve, so saved workflows keep loading; a node lists its model inputs in
``VALIDATE_INPUTS`` (returning :meth:`ModelSource.validate`) so that ComfyUI's own combo check accepts them too.

Usage::

    from .model_folders import ModelSource

    WEIGHTS = ModelSource("weights", files="frame_interpolation", extensions=(".pth", ".safetensors"),
                          hint="put film_net_fp32.pt there")

    class Loader:
        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"weights": (WEIGHTS.choices(), {"tooltip": WEIGHTS.where()})}}

        @classmethod
        def VALIDATE_INPUTS(cls, weights=None):
            return WEIGHTS.validate(weights)

        def load(self, weights):
            path = WEIGHTS.resolve(weights)  # absolute path inside models/frame_interpolation, or ModelNotFound

A source may list files of one kind and model folders of another (``files="checkpoints", folders="diffusers"``);
``register(kind)`` adds ``models/<kind>`` when no other pack or ComfyUI itself has (sources do it on use).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import folder_paths

from ..unflicker.errors import UnflickerError

DIFFUSERS_MARKERS = ("model_index.json", "config.json")
# Prefixes earlier versions put in front of a choice; stripped when the plain name resolves.
_LEGACY_PREFIXES = ("[diffusers] ",)


class ModelNotFound(UnflickerError):
    """A model choice that is not (or no longer) in ComfyUI's model folders."""


def register(kind: str, extensions=None) -> None:
    """Make ``kind`` a ComfyUI model folder kind (``models/<kind>``) unless it is one already; a kind without
    file extensions gets ``extensions`` (default: ComfyUI's usual weight files)."""
    if kind not in folder_paths.folder_names_and_paths:
        folder_paths.add_model_folder_path(kind, os.path.join(folder_paths.models_dir, kind))
    known = folder_paths.folder_names_and_paths[kind][1]
    if not known and isinstance(known, set):
        known.update(extensions if extensions is not None else folder_paths.supported_pt_extensions)


def folders(kind: str) -> list[str]:
    """The absolute folders of ``kind`` (ComfyUI's default first, then extra_model_paths.yaml ones)."""
    try:
        return [os.path.abspath(p) for p in folder_paths.get_folder_paths(kind)]
    except KeyError:
        return []


def _inside(base: str, name: str) -> str | None:
    full = os.path.normpath(os.path.join(base, name))
    return full if os.path.commonpath((base, full)) == base and full != base else None


@dataclass(frozen=True)
class ModelSource:
    """Where one node input's model choices come from.

    input:      the node input's name (used in error messages).
    files:      folder kind whose files are choices (filtered by ``extensions``, else the kind's own).
    folders:    folder kind whose model folders are choices (sub-folders, at any depth, holding one of ``markers``).
    pipeline:   only list diffusers folders whose model_index.json names this pipeline class.
    prefer:     words that put matching files first (a checkpoints folder holds many kinds of model).
    hint:       what to do when the model is missing (appended to the error).
    """

    input: str
    files: str | None = None
    folders: str | None = None
    extensions: tuple[str, ...] = ()
    markers: tuple[str, ...] = DIFFUSERS_MARKERS
    pipeline: str | None = None
    prefer: tuple[str, ...] = ()
    hint: str = ""

    def _kinds(self) -> list[str]:
        kinds = [k for k in (self.files, self.folders) if k]
        for kind in kinds:
            register(kind)
        return kinds

    # ------------------------------------------------------------------ listing
    def file_choices(self) -> list[str]:
        if not self.files:
            return []
        self._kinds()
        names = folder_paths.get_filename_list(self.files)
        if self.extensions:
            names = [n for n in names if n.lower().endswith(self.extensions)]
        return sorted(names, key=lambda n: (not any(w in n.lower() for w in self.prefer), n.lower()))

    def folder_choices(self) -> list[str]:
        if not self.folders:
            return []
        self._kinds()
        found = set()
        for base in folders(self.folders):
            if not os.path.isdir(base):
                continue
            for dirpath, dirs, _files in os.walk(base, followlinks=True):
                if dirpath != base and self._is_model_folder(dirpath):
                    dirs.clear()
                    if self._wanted(dirpath):
                        found.add(os.path.relpath(dirpath, base).replace(os.sep, "/"))
        return sorted(found, key=str.lower)

    def choices(self) -> list[str]:
        """Model folders first, then files; ComfyUI-style names relative to the model folder. Files inside a listed
        model folder of the same kind are parts of that model, not choices of their own."""
        dirs = self.folder_choices()
        inside = tuple(d + "/" for d in dirs) if self.files == self.folders else ()
        return dirs + [f for f in self.file_choices() if not (inside and f.startswith(inside))]

    def _is_model_folder(self, path: str) -> bool:
        return any(os.path.isfile(os.path.join(path, m)) for m in self.markers)

    def _wanted(self, path: str) -> bool:
        if not self.pipeline:
            return True
        try:
            with open(os.path.join(path, "model_index.json"), encoding="utf-8") as f:
                return json.load(f).get("_class_name") == self.pipeline
        except (OSError, ValueError, AttributeError):
            return False

    # ------------------------------------------------------------------ resolving
    def _find(self, name: str) -> str | None:
        if self.files:
            for base in folders(self.files):
                full = _inside(base, name)
                if full and os.path.isfile(full):
                    return full
        if self.folders:
            for base in folders(self.folders):
                full = _inside(base, name.rstrip("/"))
                if full and os.path.isdir(full) and self._is_model_folder(full):
                    return full
        return None

    def _candidates(self, choice: str):
        yield choice
        for prefix in _LEGACY_PREFIXES + tuple(f"{k}/" for k in (self.files, self.folders) if k):
            if choice.startswith(prefix):
                yield choice[len(prefix):]

    def canonical(self, choice: str) -> str | None:
        """The current name of ``choice`` (itself, or the plain name behind an earlier version's string)."""
        self._kinds()
        for name in self._candidates(choice):
            if self._find(name):
                return name
        return None

    def resolve(self, choice: str, *alternatives: str) -> str:
        """The absolute path of ``choice`` (else of the first of ``alternatives`` found) inside the model folder,
        else :class:`ModelNotFound` about ``choice``."""
        self._kinds()
        for wanted in (choice, *alternatives):
            for name in self._candidates(wanted):
                full = self._find(name)
                if full:
                    return full
        raise ModelNotFound(self.missing(choice))

    def validate(self, choice) -> bool | str:
        """For ``VALIDATE_INPUTS``: True, or the error message ComfyUI shows before the run starts."""
        if choice is None or not isinstance(choice, str):  # a link, checked when it has a value
            return True
        return True if self.canonical(choice) else self.missing(choice)

    # ------------------------------------------------------------------ messages
    def where(self) -> str:
        kinds = self._kinds()
        places = " or ".join(f"models/{k}" for k in kinds)
        return f"ComfyUI's {places} folder{'s' if len(kinds) > 1 else ''}"

    def missing(self, choice: str) -> str:
        paths = ", ".join(p for k in self._kinds() for p in folders(k)) or "none registered"
        message = f"{self.input}: {choice!r} is not in {self.where()} ({paths})"
        return f"{message}. {self.hint}" if self.hint else message
