"""Progress and cancellation protocol shared by every long loop in the engine.

Engine functions take ``progress: ProgressFn | None``. They call it as ``progress(done, total)`` after each
unit of work; the callback may raise (ComfyUI's interrupt does) to stop the loop, and engine code releases
its resources in ``finally`` blocks so a cancelled run leaves nothing behind.
"""

from __future__ import annotations

from typing import Callable, Optional

ProgressFn = Callable[[int, int], None]


def report(progress: Optional[ProgressFn], done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def tqdm_progress(desc: str, total: int | None = None, unit: str = "frame"):
    """A ProgressFn backed by a tqdm bar, for the CLI. Returns (callback, close)."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, leave=False)

    def callback(done: int, total_: int) -> None:
        if total_ and bar.total != total_:
            bar.total = total_
        bar.n = done
        bar.refresh()

    return callback, bar.close
