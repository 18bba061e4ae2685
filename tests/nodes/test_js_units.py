"""The extension's JS unit tests (tests/nodes/js/*.test.mjs) under Node's own test runner; skipped without Node >= 20.6."""

import os
import re
import shutil
import subprocess

import pytest
from conftest import REPO



def _node() -> str:
    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    major, minor = (int(x) for x in re.match(r"v(\d+)\.(\d+)", version).groups())
    if (major, minor) < (20, 6):
        pytest.skip(f"node {version} has no module.register (needs 20.6 or later)")
    return node


def test_extension_js_units():
    tests = sorted(os.path.join("tests", "nodes", "js", f) for f in os.listdir(os.path.join(REPO, "tests", "nodes", "js"))
                   if f.endswith(".test.mjs"))
    run = subprocess.run([_node(), "--import", "./tests/nodes/js/register.mjs", "--test", *tests], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert re.search(r"^# fail 0$", run.stdout, re.M) and not re.search(r"^# pass 0$", run.stdout, re.M), run.stdout
