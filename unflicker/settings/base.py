"""The settings machinery: :func:`setting` fields on frozen :class:`Settings` dataclasses."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..errors import UnflickerError, check_choice, check_range

MAX_SEED = 0xFFFFFFFFFFFFFFFF
SEED_HELP = "Kept as set: the same seed gives the same video."


def setting(default, low=None, high=None, *, step=None, choices=None, label: str | None = None, help: str = ""):
    """A settings field: ``default``, inclusive range ``low``..``high`` or ``choices``, UI ``step``, ``help``
    (the node tooltip and CLI help); ``label`` names the setting in errors when it differs from the field."""
    meta = {"low": low, "high": high, "step": step, "choices": tuple(choices) if choices is not None else None,
            "label": label, "help": help}
    return dataclasses.field(default=default, metadata=meta)


class Settings:
    """Base of the settings dataclasses (subclasses are ``@dataclass(frozen=True)``)."""

    def validated(self):
        for f in dataclasses.fields(self):
            meta = f.metadata
            if not meta:
                continue
            name, value = meta["label"] or f.name, getattr(self, f.name)
            if meta["choices"] is not None:
                check_choice(name, value, meta["choices"])
            elif meta["low"] is not None:
                check_range(name, value, meta["low"], meta["high"])
        self._check()
        return self

    def _check(self) -> None:
        """Rules across fields (override)."""

    @classmethod
    def spec(cls, name: str) -> dict[str, Any]:
        """default, low, high, step, choices, label, help of one field."""
        for f in dataclasses.fields(cls):
            if f.name == name:
                return {"default": f.default, **f.metadata}
        raise KeyError(f"{cls.__name__} has no setting {name!r}")

    @classmethod
    def default(cls, name: str):
        return cls.spec(name)["default"]


def check_multiple(name: str, value: int, of: int, why: str) -> None:
    if value % of:
        raise UnflickerError(f"{name} must be a multiple of {of} ({why}), got {value}")
