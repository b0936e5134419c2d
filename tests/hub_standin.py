"""A loopback stand-in for the Hugging Face Hub's upload API, for tests only.

This machine cannot reach the real Hub, so uploads go to this small HTTP server, pointed at by HF_ENDPOINT. It
speaks the subset of the Hub protocol that `huggingface_hub` uses to create a repo and commit files: repo
creation, model-card YAML validation, the preupload check and the NDJSON commit. It records what the client
sent, so a test can assert the uploaded bytes rather than that a function was called.

The real Hub answers the preupload check with "lfs" for large files and the client then streams them to Xet
storage; the stand-in answers "regular" for every file, so all bytes travel inline in the commit request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml


class HubStandin(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.repos: dict[str, dict] = {}  # "models/org/name" -> {"private": bool}
        self.commits: dict[str, dict[str, bytes]] = defaultdict(dict)  # "models/org/name" -> {path: bytes}
        self.requests: list[tuple[str, str]] = []
        self.validated_cards: list[dict] = []  # YAML metadata of model cards the client asked to validate
        self.commit_messages: dict[str, list[str]] = defaultdict(list)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> HubStandin:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def files(self, repo_id: str, repo_type: str = "model") -> dict[str, bytes]:
        """Every file committed to `repo_id` so far, path -> content."""
        return dict(self.commits[f"{repo_type}s/{repo_id}"])


class _Handler(BaseHTTPRequestHandler):
    server: HubStandin

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reply(self, status: int, payload: dict | list | None = None, headers: dict | None = None) -> None:
        data = json.dumps(payload if payload is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.requests.append(("POST", self.path))
        path = self.path.split("?")[0]
        body = self._body()
        if path == "/api/repos/create":
            request = json.loads(body)
            repo_type = request.get("type") or "model"
            name = f"{request['organization']}/{request['name']}" if request.get("organization") else request["name"]
            self.server.repos[f"{repo_type}s/{name}"] = {"private": request.get("visibility") == "private"}
            self._reply(200, {"url": f"{self.server.endpoint}/{name}", "name": name})
            return
        if path == "/api/validate-yaml":
            content = json.loads(body)["content"]
            try:
                metadata = yaml.safe_load(content.split("---")[1]) if content.startswith("---") else {}
            except yaml.YAMLError as error:
                self._reply(400, {"errors": [{"message": f"invalid YAML: {error}"}]})
                return
            self.server.validated_cards.append(metadata)
            self._reply(200, {"warnings": []})
            return
        if match := re.fullmatch(r"/api/(models|datasets|spaces)/(.+)/preupload/([^/]+)", path):
            files = json.loads(body)["files"]
            modes = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None} for f in files]
            self._reply(200, {"files": modes, "commitOid": "0" * 40})
            return
        if match := re.fullmatch(r"/api/(models|datasets|spaces)/(.+)/commit/([^/]+)", path):
            key = f"{match.group(1)}/{match.group(2)}"
            if key not in self.server.repos:
                self._reply(404, {"error": f"Repository {key} not found"})
                return
            for line in body.splitlines():
                item = json.loads(line)
                value = item["value"]
                if item["key"] == "header":
                    self.server.commit_messages[key].append(value.get("summary", ""))
                elif item["key"] == "file":
                    self.server.commits[key][value["path"]] = base64.b64decode(value["content"])
                elif item["key"] in ("deletedFile", "deletedFolder"):
                    self.server.commits[key].pop(value["path"], None)
            commit_oid = hashlib.sha1(body).hexdigest()
            self._reply(
                200,
                {"commitUrl": f"{self.server.endpoint}/{match.group(2)}/commit/{commit_oid}", "commitOid": commit_oid},
            )
            return
        self._reply(404, {"error": f"stand-in does not implement POST {path}"})

    def do_GET(self) -> None:  # noqa: N802
        self.server.requests.append(("GET", self.path))
        self._reply(404, {"error": f"stand-in does not implement GET {self.path}"}, {"X-Error-Code": "EntryNotFound"})

    do_HEAD = do_GET
