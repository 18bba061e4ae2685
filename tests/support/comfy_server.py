"""Start a real ComfyUI (``main.py --cpu``) on loopback with this pack installed, without touching its checkout.

Everything ComfyUI writes goes into a temp base directory: custom_nodes/ComfyUI-Unflicker (a symlink to this
repository, or a copy where symlinks are not allowed), input/, output/, temp/, user/, an in-memory database, and
an extra_model_paths.yaml pointing at a temp models folder for tiny test models.

The page comes from the frontend ComfyUI pins (its comfyui-frontend-package) unless ``front_end_root`` names another
one's static folder (``--front-end-root``). ``frontend_roots()`` lists what the browser tests run on: the pinned one
and each folder in COMFYUI_FRONTEND_ROOT (os.pathsep-separated), e.g. the unzipped
``comfyui_frontend_package/static`` of ``pip download comfyui-frontend-package==1.58.1 --no-deps``.

    python tests/support/comfy_server.py /path/to/ComfyUI [FRONTEND_ROOT]   # start one by hand; Ctrl-C stops it
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACK_NAME = "ComfyUI-Unflicker"


def comfy_python(comfy_dir: str) -> str:
    """COMFYUI_PYTHON, else a venv inside or beside the checkout (venv/, .venv/, <dir>-venv/), else this Python."""
    if os.environ.get("COMFYUI_PYTHON"):
        return os.environ["COMFYUI_PYTHON"]
    comfy_dir = os.path.abspath(comfy_dir)
    for candidate in (os.path.join(comfy_dir, "venv"), os.path.join(comfy_dir, ".venv"), comfy_dir + "-venv"):
        exe = os.path.join(candidate, "Scripts" if os.name == "nt" else "bin", "python")
        if os.path.exists(exe):
            return exe
    return sys.executable


def frontend_roots() -> list[str | None]:
    """None (the frontend ComfyUI pins) and each folder listed in COMFYUI_FRONTEND_ROOT; a missing folder is an error."""
    listed = [p for p in os.environ.get("COMFYUI_FRONTEND_ROOT", "").split(os.pathsep) if p.strip()]
    for path in listed:
        if not os.path.isfile(os.path.join(path, "index.html")):
            raise FileNotFoundError(f"COMFYUI_FRONTEND_ROOT: {path} has no index.html (give a frontend's static folder)")
    return [None, *(os.path.abspath(p) for p in listed)]


def frontend_label(root: str | None) -> str:
    """A short test id for a frontend: 'pinned', else the folder's name (e.g. '1.58.1')."""
    return "pinned" if root is None else os.path.basename(os.path.normpath(root))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ComfyServer:
    def __init__(self, comfy_dir: str, models: dict[str, str] | None = None, python: str | None = None,
                 front_end_root: str | None = None):
        """``models``: ComfyUI folder name (e.g. 'checkpoints') -> a local folder, written to extra_model_paths.
        ``front_end_root``: a frontend's static folder to serve instead of the pinned package's."""
        self.comfy_dir = os.path.abspath(comfy_dir)
        self.front_end_root = front_end_root
        self.python = python or comfy_python(comfy_dir)
        self.models = dict(models or {})
        self.base = tempfile.mkdtemp(prefix="unflicker-comfyui-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log_path = os.path.join(self.base, "comfyui.log")

    @property
    def input_dir(self) -> str:
        return os.path.join(self.base, "input")

    @property
    def output_dir(self) -> str:
        return os.path.join(self.base, "output")

    def _prepare(self) -> list[str]:
        custom = os.path.join(self.base, "custom_nodes")
        os.makedirs(custom)
        for sub in ("input", "output", "temp", "user", "models"):
            os.makedirs(os.path.join(self.base, sub))
        link = os.path.join(custom, PACK_NAME)
        try:
            os.symlink(REPO, link, target_is_directory=True)
        except OSError:
            shutil.copytree(REPO, link, ignore=shutil.ignore_patterns(".git", "__pycache__", "*.pyc"))
        args = ["main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(self.port),
                "--base-directory", self.base, "--database-url", "sqlite:///:memory:",
                "--disable-auto-launch", "--log-stdout"]
        if self.front_end_root:
            args += ["--front-end-root", os.path.abspath(self.front_end_root)]
        if self.models:
            yaml_path = os.path.join(self.base, "extra_model_paths.yaml")
            with open(yaml_path, "w", encoding="utf-8") as f:
                f.write("unflicker_tests:\n")
                for folder, path in self.models.items():
                    f.write(f"  {folder}: {json.dumps(os.path.abspath(path))}\n")
            args += ["--extra-model-paths-config", yaml_path]
        return args

    def start(self, timeout: float = 240.0) -> "ComfyServer":
        args = self._prepare()
        log = open(self.log_path, "w", encoding="utf-8")
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")  # leave ComfyUI's checkout as it was
        self.proc = subprocess.Popen([self.python, *args], cwd=self.comfy_dir, stdout=log, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ComfyUI exited with code {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/system_stats", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"ComfyUI did not answer within {timeout:g} s:\n{self.log_tail()}")

    def log_tail(self, n: int = 60) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def outputs(self, pattern: str = "**/*") -> list[str]:
        return sorted(p for p in glob.glob(os.path.join(self.output_dir, pattern), recursive=True) if os.path.isfile(p))

    def __enter__(self) -> "ComfyServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.cleanup()


if __name__ == "__main__":
    server = ComfyServer(sys.argv[1] if len(sys.argv) > 1 else os.environ["COMFYUI_DIR"],
                         front_end_root=sys.argv[2] if len(sys.argv) > 2 else None)
    server.start()
    print(f"ComfyUI at {server.url} (base {server.base}); Ctrl-C stops it", flush=True)
    try:
        while server.proc.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.cleanup()
