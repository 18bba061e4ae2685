"""Shared bits for the benchmark scripts: run from the repo root as ``python bench/<script>.py``."""

import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)


def load_pack():
    """The pack as ComfyUI loads it, with the ComfyUI stand-ins (unflicker.testing) when none is importable."""
    from unflicker.comfy.object_info import load_pack as load
    from unflicker.testing import use_comfy_standins

    use_comfy_standins()
    return load()


def _cpu_seconds():
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def best_of(fn, repeat=3):
    """Best wall time of ``repeat`` runs (the least disturbed by other load on the machine)."""
    wall, _cpu, result = best_of_with_cpu(fn, repeat)
    return wall, result


def best_of_with_cpu(fn, repeat=3):
    """(best wall seconds, best CPU seconds of this process and its children, last result).

    CPU seconds barely move when other programs load the machine, so they are the fairer figure on a busy box.
    """
    walls, cpus = [], []
    result = None
    for _ in range(repeat):
        c0, t0 = _cpu_seconds(), time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(_cpu_seconds() - c0)
    return min(walls), min(cpus), result
