"""requirements.txt (what ComfyUI-Manager and the README install) and pyproject.toml's [project] dependencies (what
pip and the registry read) are one list: pyproject cannot read the file statically, so this test keeps them equal."""

from __future__ import annotations

import os

from packaging.requirements import Requirement

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest itself depends on tomli there
    import tomli as tomllib

from conftest import REPO


def requirements_txt() -> list[Requirement]:
    with open(os.path.join(REPO, "requirements.txt"), encoding="utf-8") as f:
        lines = [line.split("#", 1)[0].strip() for line in f]
    return [Requirement(line) for line in lines if line]


def pyproject_dependencies() -> list[Requirement]:
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        return [Requirement(line) for line in tomllib.load(f)["project"]["dependencies"]]


def test_requirements_and_pyproject_are_one_list():
    # str() normalises quoting and spacing, so names, versions and environment markers are compared as pip reads them
    assert [str(r) for r in pyproject_dependencies()] == [str(r) for r in requirements_txt()]


def test_every_dependency_has_a_lower_bound_and_no_torch():
    for requirement in requirements_txt():
        assert any(spec.operator == ">=" for spec in requirement.specifier), requirement
    names = {r.name.lower() for r in requirements_txt()}
    assert not names & {"torch", "torchvision", "torchaudio"}  # ComfyUI brings its own GPU build
