"""A stand-in ComfyUI HTTP + websocket server (standard library only) for testing the client on CI.

It speaks the parts of ComfyUI's protocol the client uses, with ComfyUI's message shapes: GET /object_info,
POST /prompt (HTTP 400 + node_errors for unknown types or values that do not fit), GET /ws?clientId=... (the
upgrade handshake and server->client text frames: execution_start, executing, progress, executed,
execution_success / execution_error, then executing with node None), GET /history/{id} (filed a little after
success, as ComfyUI does), GET /view, POST /upload/image. "Running" a node emits progress and, for output nodes,
an output entry whose file /view serves. A node whose inputs contain the string "FAIL" fails with that message.
``step_delay`` slows each node down and ``stop()`` takes the server down mid-run (a fleet's tests).
The real thing is exercised by test_e2e_comfyui.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import queue
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from unflicker.comfy.workflow import check_api

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _frame(text: str) -> bytes:
    data = text.encode()
    n = len(data)
    if n < 126:
        head = bytes([0x81, n])
    elif n < 65536:
        head = bytes([0x81, 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x81, 127]) + n.to_bytes(8, "big")
    return head + data


class FakeComfy:
    def __init__(self, object_info: dict, history_delay: float = 0.3, step_delay: float = 0.0, port: int = 0):
        """``step_delay``: seconds each progress step takes, so a prompt is still running when a test stops the
        server; ``port``: where to listen (0: any free port)."""
        self.object_info = object_info
        self.history_delay = history_delay
        self.step_delay = step_delay
        self.stopped = False
        self.prompt_ids: list[str] = []
        self.most_in_queue = 0  # the most prompts queued or running at once (unfinished: no history entry yet)
        self.history: dict = {}
        self.files: dict[tuple, bytes] = {}
        self.uploads: dict[str, bytes] = {}
        self.prompts: list[dict] = []
        self.clients: dict[str, queue.Queue] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _json(self, obj, status=200):
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/object_info":
                    return self._json(fake.object_info)
                if url.path.startswith("/history/"):
                    pid = url.path.rsplit("/", 1)[1]
                    return self._json({pid: fake.history[pid]} if pid in fake.history else {})
                if url.path == "/view":
                    key = (query.get("type", "output"), query.get("subfolder", ""), query.get("filename"))
                    if key not in fake.files:
                        return self._json({"error": "not found"}, 404)
                    data = fake.files[key]
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    return self.wfile.write(data)
                if url.path == "/ws":
                    return self._websocket(query.get("clientId", ""))
                return self._json({}, 404)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if self.path == "/prompt":
                    return self._json(*fake.queue_prompt(json.loads(body)))
                if self.path == "/upload/image":
                    name = self._multipart_file(body)
                    fake.uploads[name] = body
                    return self._json({"name": name, "subfolder": "unflicker", "type": "input"})
                if self.path in ("/queue", "/interrupt"):
                    return self._json({})
                return self._json({}, 404)

            def _multipart_file(self, body: bytes) -> str:
                marker = b'filename="'
                start = body.index(marker) + len(marker)
                return body[start:body.index(b'"', start)].decode()

            def _websocket(self, client_id: str):
                key = self.headers["Sec-WebSocket-Key"]
                accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
                self.send_response(101)
                self.send_header("Upgrade", "websocket")
                self.send_header("Connection", "Upgrade")
                self.send_header("Sec-WebSocket-Accept", accept)
                self.end_headers()
                self.wfile.flush()
                messages = fake.clients.setdefault(client_id, queue.Queue())
                messages.put({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 0}},
                                                          "sid": client_id}})
                self.close_connection = True
                threading.Thread(target=self._read_until_close, args=(messages,), daemon=True).start()
                try:
                    while True:
                        msg = messages.get()
                        if msg is None:
                            self.wfile.write(b"\x88\x00")  # close frame: answers the client's close
                            self.wfile.flush()
                            return
                        self.wfile.write(_frame(json.dumps(msg)))
                        self.wfile.flush()
                except OSError:
                    return

            def _read_until_close(self, messages: queue.Queue) -> None:
                """Client frames (masked): only the close frame matters here."""
                try:
                    while True:
                        head = self.rfile.read(2)
                        if len(head) < 2:
                            break
                        n = head[1] & 0x7F
                        if n == 126:
                            n = int.from_bytes(self.rfile.read(2), "big")
                        elif n == 127:
                            n = int.from_bytes(self.rfile.read(8), "big")
                        self.rfile.read(4 + n)  # mask + payload
                        if head[0] & 0x0F == 0x8:
                            break
                except OSError:
                    pass
                messages.put(None)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # ------------------------------------------------------------------ protocol
    def queue_prompt(self, body: dict) -> tuple[dict, int]:
        api, client_id = body["prompt"], body.get("client_id", "")
        node_errors = {}
        for nid, entry in api.items():
            if entry["class_type"] not in self.object_info:
                return ({"error": {"type": "invalid_prompt", "message": f"Cannot execute because node "
                                   f"{entry['class_type']} does not exist.", "details": f"Node ID '#{nid}'",
                                   "extra_info": {}}, "node_errors": {}}, 400)
        for problem in check_api(api, self.object_info, files_known=False):
            nid = problem.split()[1]
            node_errors.setdefault(nid, {"errors": [], "dependent_outputs": [], "class_type": api[nid]["class_type"]})
            node_errors[nid]["errors"].append({"type": "value_not_valid", "message": "Value not valid",
                                               "details": problem.split(": ", 1)[1], "extra_info": {}})
        if node_errors:
            return ({"error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed "
                               "validation", "details": "", "extra_info": {}}, "node_errors": node_errors}, 400)
        prompt_id = uuid.uuid4().hex
        self.prompts.append(api)
        unfinished = sum(1 for pid in self.prompt_ids if pid not in self.history)
        self.most_in_queue = max(self.most_in_queue, unfinished + 1)
        self.prompt_ids.append(prompt_id)
        threading.Thread(target=self._execute, args=(prompt_id, api, client_id), daemon=True).start()
        return {"prompt_id": prompt_id, "number": len(self.prompts), "node_errors": {}}, 200

    def _execute(self, prompt_id: str, api: dict, client_id: str) -> None:
        send = self.clients.setdefault(client_id, queue.Queue()).put
        send({"type": "execution_start", "data": {"prompt_id": prompt_id, "timestamp": 0}})
        outputs = {}
        for nid, entry in api.items():
            send({"type": "executing", "data": {"node": nid, "display_node": nid, "prompt_id": prompt_id}})
            failing = [v for v in entry["inputs"].values() if isinstance(v, str) and "FAIL" in v]
            if failing:
                send({"type": "execution_error", "data": {
                    "prompt_id": prompt_id, "node_id": nid, "node_type": entry["class_type"], "executed": [],
                    "exception_message": f"{failing[0]}\n", "exception_type": "UnflickerError",
                    "traceback": ["Traceback (most recent call last):\n", "..."], "current_inputs": {},
                    "current_outputs": {}}})
                self.history[prompt_id] = {"prompt": [], "outputs": outputs,
                                           "status": {"status_str": "error", "completed": False}}
                return
            for step in (1, 2, 3):
                time.sleep(self.step_delay)
                send({"type": "progress", "data": {"value": step, "max": 3, "prompt_id": prompt_id, "node": nid}})
            if self.object_info[entry["class_type"]].get("output_node"):
                name = f"{nid}_00001.mp4"
                self.files[("output", "Unflicker", name)] = f"video of node {nid}".encode()
                self.files[("temp", "", f"preview_{nid}.webp")] = b"preview"
                item = {"filename": name, "subfolder": "Unflicker", "type": "output", "format": "video/mp4"}
                preview = {"filename": f"preview_{nid}.webp", "subfolder": "", "type": "temp"}
                output = {"images": [item, preview], "animated": [True], "unflicker_video": [item]}
                outputs[nid] = output
                send({"type": "executed", "data": {"node": nid, "display_node": nid, "output": output,
                                                   "prompt_id": prompt_id}})
        send({"type": "execution_success", "data": {"prompt_id": prompt_id, "timestamp": 0}})
        time.sleep(self.history_delay)  # ComfyUI files the history entry just after announcing success
        self.history[prompt_id] = {"prompt": [], "outputs": outputs,
                                   "status": {"status_str": "success", "completed": True, "messages": []}}
        send({"type": "executing", "data": {"node": None, "prompt_id": prompt_id}})

    # ------------------------------------------------------------------ lifetime
    def __enter__(self) -> "FakeComfy":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop answering, as a server that goes down: open websockets are closed, new connections refused."""
        if self.stopped:
            return
        self.stopped = True
        for q in self.clients.values():
            q.put(None)
        self.server.shutdown()
        self.server.server_close()
