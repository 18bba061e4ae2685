"""Run workflows on a ComfyUI server through its HTTP API, headless.

``POST /prompt`` queues an API-format workflow under a client id; the server reports progress over the websocket
``/ws?clientId=...`` (executing / progress / executed / execution_error / execution_success); the outputs are
listed by ``GET /history/{prompt_id}`` and fetched through ``GET /view``. UI-format workflows are converted first
with the server's ``GET /object_info``. Only the standard library and ``websocket-client``.
"""

from __future__ import annotations

import json
import mimetypes
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from ..errors import UnflickerError
from .workflow import (UPLOAD_FLAGS, WorkflowError, apply_overrides, find_node, node_inputs, parse_override,
                       spec_options, to_api, workflow_format)

DEFAULT_SERVER = "http://127.0.0.1:8188"
OUTPUT_KEYS = ("images", "gifs", "videos", "unflicker_video", "audio")


class ComfyError(UnflickerError):
    """The server could not be reached, refused the workflow, or a node failed."""


class ServerUnreachable(ComfyError):
    pass


class PromptRejected(ComfyError):
    """HTTP 400 from /prompt: the server's validation found problems (``node_errors``)."""

    def __init__(self, message: str, body: Mapping | None = None):
        super().__init__(message)
        self.body = body or {}


class ExecutionFailed(ComfyError):
    def __init__(self, message: str, data: Mapping | None = None):
        super().__init__(message)
        self.data = data or {}


@dataclass
class RunResult:
    prompt_id: str
    files: list[str] = field(default_factory=list)
    seconds: float = 0.0
    outputs: dict = field(default_factory=dict)
    cached: list[str] = field(default_factory=list)


class ComfyClient:
    def __init__(self, server: str = DEFAULT_SERVER, timeout: float = 3600.0, client_id: str | None = None):
        server = server.strip().rstrip("/")
        if "://" not in server:
            server = "http://" + server
        self.server = server
        self.timeout = timeout
        self.client_id = client_id or uuid.uuid4().hex
        self._object_info: dict | None = None

    # ------------------------------------------------------------------ HTTP
    def _request(self, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None,
                 timeout: float = 60.0) -> tuple[int, bytes]:
        req = urllib.request.Request(self.server + path, data=body, method=method, headers=dict(headers or {}))
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServerUnreachable(f"cannot reach ComfyUI at {self.server} ({reason}); is it running? Start it with "
                                    f"`python main.py --listen 127.0.0.1 --port PORT` or pass --server") from None

    def get_json(self, path: str) -> Any:
        status, data = self._request("GET", path)
        if status != 200:
            raise ComfyError(f"GET {path} -> HTTP {status}: {data[:300].decode('utf-8', 'replace')}")
        return json.loads(data)

    def reachable(self, timeout: float = 5.0) -> bool:
        """Whether the server answers HTTP at all (any status): a fleet asks before taking a server back."""
        try:
            self._request("GET", "/system_stats", timeout=timeout)
        except ServerUnreachable:
            return False
        return True

    def object_info(self) -> dict:
        if self._object_info is None:
            self._object_info = self.get_json("/object_info")
        return self._object_info

    def upload(self, local_path: str, subfolder: str = "unflicker") -> str:
        """Put a local file into the server's input folder (POST /upload/image takes any file); returns the name
        to give a Load node ('subfolder/file')."""
        boundary = uuid.uuid4().hex
        filename = os.path.basename(local_path)
        with open(local_path, "rb") as f:
            payload = f.read()
        mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        parts = []
        for name, value in (("type", "input"), ("subfolder", subfolder), ("overwrite", "true")):
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{filename}"\r\n'
                     f"Content-Type: {mime}\r\n\r\n".encode() + payload + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        status, data = self._request("POST", "/upload/image", b"".join(parts),
                                     {"Content-Type": f"multipart/form-data; boundary={boundary}"}, timeout=600)
        if status != 200:
            raise ComfyError(f"uploading {local_path} failed: HTTP {status}")
        info = json.loads(data)
        self._object_info = None  # the input-file lists changed
        return f"{info['subfolder']}/{info['name']}" if info.get("subfolder") else info["name"]

    def queue(self, api: Mapping) -> str:
        body = json.dumps({"prompt": api, "client_id": self.client_id}).encode()
        status, data = self._request("POST", "/prompt", body, {"Content-Type": "application/json"})
        try:
            answer = json.loads(data)
        except json.JSONDecodeError:
            answer = {}
        if status == 200 and "prompt_id" in answer:
            if answer.get("node_errors"):
                # ComfyUI queues the outputs that passed and skips the rest: a headless run wants all of them.
                self.cancel(answer["prompt_id"])
                answer = {"error": {"message": "some outputs failed validation (the run was cancelled)"},
                          "node_errors": answer["node_errors"]}
                raise PromptRejected(format_rejection(answer, api), answer)
            return answer["prompt_id"]
        if status == 400 or answer.get("error") or answer.get("node_errors"):
            raise PromptRejected(format_rejection(answer, api), answer)
        raise ComfyError(f"POST /prompt -> HTTP {status}: {data[:300].decode('utf-8', 'replace')}")

    def cancel(self, prompt_id: str, timeout: float = 60.0) -> None:
        """Take a prompt off the queue, or stop it if it already runs (only that prompt)."""
        for path, body in (("/queue", {"delete": [prompt_id]}), ("/interrupt", {"prompt_id": prompt_id})):
            self._request("POST", path, json.dumps(body).encode(), {"Content-Type": "application/json"},
                          timeout=timeout)

    def history(self, prompt_id: str) -> dict:
        return self.get_json(f"/history/{urllib.parse.quote(prompt_id)}").get(prompt_id, {})

    def download(self, entry: Mapping, out_dir: str) -> str:
        query = urllib.parse.urlencode({"filename": entry["filename"], "subfolder": entry.get("subfolder", ""),
                                        "type": entry.get("type", "output")})
        status, data = self._request("GET", f"/view?{query}", timeout=600)
        if status != 200:
            raise ComfyError(f"downloading {entry['filename']} failed: HTTP {status}")
        path = os.path.join(out_dir, *_safe_parts(entry.get("subfolder", "")), os.path.basename(entry["filename"]))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        return path

    # ------------------------------------------------------------------ websocket
    def _connect_ws(self):
        import websocket  # websocket-client

        url = self.server.replace("https://", "wss://").replace("http://", "ws://") + \
            f"/ws?clientId={urllib.parse.quote(self.client_id)}"
        try:
            return websocket.create_connection(url, timeout=30)
        except (OSError, websocket.WebSocketException) as exc:
            raise ServerUnreachable(f"cannot reach ComfyUI at {self.server} (websocket: {exc})") from None

    def run(self, workflow: Mapping, overrides: Iterable[str] = (), out_dir: str | None = "unflicker-output",
            progress: bool = True, previews: bool = False,
            log: Callable[[str], None] = print,
            on_queued: Callable[[str], None] | None = None) -> RunResult:
        """Queue a workflow (API or UI format), follow it to the end, download its outputs into ``out_dir``.
        ``on_queued(prompt_id)`` is called once the server has the prompt (a caller that may have to cancel it)."""
        fmt = workflow_format(workflow)
        overrides = list(overrides)
        for text in overrides:
            parse_override(text)  # a malformed --set is reported before anything is sent
        info = self.object_info() if fmt == "ui" or overrides else None
        api = to_api(workflow, info)
        self._upload_local_inputs(api, overrides, info, log)
        apply_overrides(api, overrides, self._object_info or info)
        started = time.monotonic()
        ws = self._connect_ws()
        try:
            prompt_id = self.queue(api)
            log(f"queued prompt {prompt_id} ({len(api)} nodes) on {self.server}")
            if on_queued is not None:
                on_queued(prompt_id)
            executed: dict = {}
            cached = self._follow(ws, prompt_id, api, progress, started, executed)
        finally:
            ws.close()
        result = RunResult(prompt_id, seconds=time.monotonic() - started, cached=cached)
        result.outputs = {**executed, **self._final_outputs(prompt_id)}
        if out_dir is not None:
            seen = set()
            for node_id, output in result.outputs.items():
                for key in OUTPUT_KEYS:
                    for entry in output.get(key) or []:
                        if not isinstance(entry, dict) or "filename" not in entry:
                            continue
                        ident = (entry.get("type"), entry.get("subfolder", ""), entry["filename"])
                        if ident in seen or (entry.get("type") == "temp" and not previews):
                            continue
                        seen.add(ident)
                        path = self.download(entry, out_dir)
                        result.files.append(path)
                        log(f"saved {path}  (node {node_id}, {_title(api, node_id)})")
        return result

    def _final_outputs(self, prompt_id: str, wait: float = 15.0) -> dict:
        """The history entry's outputs. ComfyUI announces success just before it files the history entry, so
        give it a moment to appear (cached nodes' outputs are only there, not in 'executed' messages)."""
        deadline = time.monotonic() + wait
        while True:
            entry = self.history(prompt_id)
            if entry or time.monotonic() > deadline:
                return entry.get("outputs", {})
            time.sleep(0.2)

    def _upload_local_inputs(self, api: dict, overrides: list[str], info: Mapping | None, log) -> None:
        """--set NODE.video=/local/file on an upload input: upload the file and use the server's name."""
        for i, text in enumerate(overrides):
            node, name, value = parse_override(text)
            if not isinstance(value, str) or not os.path.isfile(os.path.expanduser(value)):
                continue
            nid = find_node(api, node)
            node_def = (info or {}).get(api[nid]["class_type"])
            spec = {n: s for n, s, _ in node_inputs(node_def)}.get(name) if node_def else None
            if spec is None or not any(spec_options(spec).get(flag) for flag in UPLOAD_FLAGS):
                continue
            uploaded = self.upload(os.path.expanduser(value))
            log(f"uploaded {value} -> input/{uploaded}")
            overrides[i] = f"{nid}.{name}={json.dumps(uploaded)}"

    def _follow(self, ws, prompt_id: str, api: Mapping, progress: bool, started: float,
                executed: dict) -> list[str]:
        import websocket

        bars = _Bars(api, progress)
        cached: list[str] = []
        deadline = started + self.timeout
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ComfyError(f"timed out after {self.timeout:g} s waiting for prompt {prompt_id}; it may "
                                     f"still be running on {self.server}")
                ws.settimeout(min(remaining, 30.0))
                try:
                    raw = ws.recv()
                except websocket.WebSocketTimeoutException:
                    # No news for a while: make sure it did not finish while we were not listening.
                    entry = self.history(prompt_id)
                    if entry.get("status", {}).get("completed") or entry.get("outputs"):
                        return cached
                    continue
                except (OSError, websocket.WebSocketException) as exc:
                    raise ServerUnreachable(f"lost the connection to ComfyUI at {self.server} ({exc})") from None
                if raw == "":
                    # websocket-client's answer to the server's close frame: a server shutting down
                    raise ServerUnreachable(f"lost the connection to ComfyUI at {self.server} (it closed the "
                                            "websocket)")
                if not isinstance(raw, str):
                    continue  # binary preview images
                msg = json.loads(raw)
                kind, data = msg.get("type"), msg.get("data") or {}
                if data.get("prompt_id") not in (None, prompt_id):
                    continue
                if kind == "execution_cached":
                    cached += [str(n) for n in data.get("nodes", [])]
                elif kind == "executing":
                    if data.get("node") is None and data.get("prompt_id") == prompt_id:
                        return cached
                    bars.start(str(data["node"]))
                elif kind == "executed" and isinstance(data.get("output"), dict):
                    executed[str(data.get("display_node") or data.get("node"))] = data["output"]
                elif kind == "progress":
                    bars.update(str(data.get("node")), data.get("value", 0), data.get("max", 1))
                elif kind == "execution_success":
                    return cached
                elif kind == "execution_error":
                    raise ExecutionFailed(format_execution_error(data, api), data)
                elif kind == "execution_interrupted":
                    raise ExecutionFailed(f"interrupted at node {data.get('node_id')} "
                                          f"({_title(api, str(data.get('node_id')))})", data)
        finally:
            bars.close()


class _Bars:
    """One tqdm bar per executing node."""

    def __init__(self, api: Mapping, enabled: bool):
        self.api, self.enabled, self.bar, self.node = api, enabled, None, None

    def start(self, node: str) -> None:
        if not self.enabled or node == self.node:
            return
        self.close()
        from tqdm import tqdm

        self.node = node
        self.bar = tqdm(total=1, desc=f"node {node} {_title(self.api, node)}", unit="step", leave=True,
                        dynamic_ncols=True)

    def update(self, node: str, value: float, total: float) -> None:
        if not self.enabled:
            return
        if node != self.node or self.bar is None:
            self.start(node)
        self.bar.total = max(1, int(total))
        self.bar.n = min(int(value), self.bar.total)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.n = self.bar.total if self.bar.n else self.bar.n
            self.bar.close()
        self.bar, self.node = None, None


def _title(api: Mapping, node_id: str) -> str:
    entry = api.get(str(node_id)) or {}
    return (entry.get("_meta") or {}).get("title") or entry.get("class_type") or "?"


def _safe_parts(subfolder: str) -> list[str]:
    return [p for p in subfolder.replace("\\", "/").split("/") if p not in ("", ".", "..") and ":" not in p]


def format_rejection(answer: Mapping, api: Mapping) -> str:
    """The server's validation answer as readable lines: the top error, then each node's own messages."""
    lines = []
    error = answer.get("error")
    if isinstance(error, dict):
        head = error.get("message") or error.get("type") or "invalid workflow"
        details = error.get("details")
        lines.append(f"ComfyUI refused the workflow: {head}" + (f": {details}" if details else ""))
    elif error:
        lines.append(f"ComfyUI refused the workflow: {error}")
    else:
        lines.append("ComfyUI refused the workflow")
    for node_id, node_error in (answer.get("node_errors") or {}).items():
        kind = node_error.get("class_type") or (api.get(node_id) or {}).get("class_type", "?")
        for err in node_error.get("errors") or []:
            msg, details = err.get("message", ""), err.get("details") or ""
            if msg == "Custom validation failed for node" and " - " in details:
                details = details.split(" - ", 1)[1]  # ComfyUI repeats a node's own check once per input
            line = f"  node {node_id} ({_title(api, node_id)}, {kind}): {msg}" + (f": {details}" if details else "")
            if line not in lines:
                lines.append(line)
    return "\n".join(lines)


def format_execution_error(data: Mapping, api: Mapping) -> str:
    node_id = str(data.get("node_id"))
    message = str(data.get("exception_message", "")).strip() or data.get("exception_type", "error")
    return (f"node {node_id} ({_title(api, node_id)}, {data.get('node_type', '?')}) failed: {message}")


def run_workflow_file(path: str, server: str = DEFAULT_SERVER, overrides: Iterable[str] = (),
                      out_dir: str = "unflicker-output", timeout: float = 3600.0, progress: bool = True,
                      previews: bool = False, log: Callable[[str], None] = print) -> RunResult:
    from .workflow import load_workflow

    client = ComfyClient(server, timeout=timeout)
    return client.run(load_workflow(path), overrides, out_dir, progress=progress, previews=previews, log=log)


__all__ = ["ComfyClient", "ComfyError", "ServerUnreachable", "PromptRejected", "ExecutionFailed", "RunResult",
           "WorkflowError", "run_workflow_file", "DEFAULT_SERVER"]
