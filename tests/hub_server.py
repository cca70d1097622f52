"""A Hugging Face Hub on 127.0.0.1 that speaks the HTTP API as huggingface_hub uses it.

Search (`/api/models`), model info with file metadata (`/api/models/{repo}`), and file
resolution (`/{repo}/resolve/{revision}/{path}`) answering with `X-Repo-Commit`,
`X-Linked-Etag` and `X-Linked-Size` and a redirect to a CDN-like URL on another host name
(`localhost` instead of `127.0.0.1`), which serves ranged GETs. Gated repositories answer
401 / 403 as the Hub does. Every request is logged with the bytes actually sent, and
faults can be switched on per file: drop the connection after N bytes, corrupt a byte,
stall at an offset, throttle, answer with an error status. A hostile Hub is one call away:
any file name, a listed sha256 that is not the file's, a listing claiming another repo's id.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

CHUNK = 256 * 1024


@dataclass
class HubFile:
    path: str
    source: Path
    size: int
    sha256: str
    listed_sha256: str | None = None  # what the listing says instead of `sha256` (hostile)


@dataclass
class HubRepo:
    id: str
    files: dict[str, HubFile] = field(default_factory=dict)
    listed_id: str | None = None  # the id its listing claims instead of `id` (hostile)
    gated: bool = False
    downloads: int = 0
    likes: int = 0
    last_modified: str = "2026-01-01T00:00:00.000Z"
    gguf: dict[str, Any] | None = None
    sha: str = ""

    def __post_init__(self) -> None:
        self.sha = self.sha or hashlib.sha1(self.id.encode()).hexdigest()


@dataclass
class Faults:
    """Switched on per file path by a test; each one-shot fault fires once."""

    drop_after: int | None = None  # close the connection after sending this many bytes, once
    corrupt: bool = False  # flip the first byte sent, every time
    stall_at: int | None = None  # stop sending at this file offset until `release` is set, once
    release: threading.Event = field(default_factory=threading.Event)
    bytes_per_second: int | None = None
    fail_with: list[int] = field(default_factory=list)  # answer these statuses first, in order


@dataclass
class LoggedRequest:
    method: str
    host: str
    path: str
    range: str | None
    status: int
    authorized: bool
    bytes_sent: int = 0


class LocalHub:
    def __init__(self, token: str = "hf_test_token") -> None:
        self.token = token
        self.repos: dict[str, HubRepo] = {}
        self.faults: dict[str, Faults] = {}
        self.log: list[LoggedRequest] = []
        self._log_lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.cdn = f"http://localhost:{self.port}/cdn"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LocalHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        for faults in self.faults.values():
            faults.release.set()
        self._server.shutdown()
        self._server.server_close()

    def add_repo(
        self,
        repo_id: str,
        files: dict[str, Path],
        *,
        listed_sha256: dict[str, str] | None = None,
        **details: Any,
    ) -> HubRepo:
        """`listed_sha256`: file name -> the sha256 the listing gives instead of the real one."""
        repo = HubRepo(repo_id, **details)
        for name, source in files.items():
            listed = (listed_sha256 or {}).get(name)
            repo.files[name] = HubFile(name, source, source.stat().st_size, _sha256(source), listed)
        self.repos[repo_id] = repo
        return repo

    def file_requests(self, file_path: str) -> list[LoggedRequest]:
        """The CDN requests that carried the file's bytes."""
        sha = next(
            f.sha256 for r in self.repos.values() for f in r.files.values() if f.path == file_path
        )
        with self._log_lock:
            return [r for r in self.log if r.path.startswith(f"/cdn/{sha}") and r.method == "GET"]

    def _record(self, entry: LoggedRequest) -> None:
        with self._log_lock:
            self.log.append(entry)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_INFO = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+?)(?:/revision/(?P<rev>[^/]+))?$")
_SORT_KEYS = {"downloads": "downloads", "likes": "likes", "lastModified": "last_modified"}


def _handler_for(hub: LocalHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the hub keeps its own log
            pass

        def do_HEAD(self) -> None:
            self._route("HEAD")

        def do_GET(self) -> None:
            self._route("GET")

        # ---- routing ----

        def _route(self, method: str) -> None:
            url = urlsplit(self.path)
            path = unquote(url.path)
            query = parse_qs(url.query)
            entry = LoggedRequest(
                method,
                self.headers.get("Host", ""),
                path,
                self.headers.get("Range"),
                200,
                self.headers.get("Authorization") == f"Bearer {hub.token}",
            )
            hub._record(entry)
            if path == "/api/models":
                self._search(entry, query)
            elif match := _INFO.match(path):
                self._model_info(entry, match["repo"])
            elif match := _RESOLVE.match(path):
                self._resolve(entry, method, match["repo"], match["path"])
            elif path.startswith("/cdn/"):
                self._cdn(entry, method, path.removeprefix("/cdn/"))
            else:
                self._error(entry, 404, "EntryNotFound", "Not found")

        def _search(self, entry: LoggedRequest, query: dict[str, list[str]]) -> None:
            text = query.get("search", [""])[0].lower()
            repos = [r for r in hub.repos.values() if text in r.id.lower()]
            sort = _SORT_KEYS.get(query.get("sort", ["downloads"])[0], "downloads")
            repos.sort(key=lambda r: getattr(r, sort), reverse=True)
            limit = int(query.get("limit", ["1000"])[0])
            self._json(entry, [self._summary(r) for r in repos[:limit]])

        def _summary(self, repo: HubRepo) -> dict[str, Any]:
            listed_id = repo.listed_id or repo.id
            return {
                "id": listed_id,
                "modelId": listed_id,
                "author": listed_id.split("/")[0],
                "sha": repo.sha,
                "downloads": repo.downloads,
                "likes": repo.likes,
                "lastModified": repo.last_modified,
                "createdAt": repo.last_modified,
                "gated": "manual" if repo.gated else False,
                "private": False,
                "tags": ["gguf"],
                "library_name": "gguf",
                "gguf": repo.gguf,
            }

        def _model_info(self, entry: LoggedRequest, repo_id: str) -> None:
            repo = hub.repos.get(repo_id)
            if repo is None:
                return self._error(entry, 404, "RepoNotFound", "Repository not found")
            info = self._summary(repo)
            info["siblings"] = [
                {
                    "rfilename": f.path,
                    "size": f.size,
                    "blobId": hashlib.sha1(f.sha256.encode()).hexdigest(),
                    "lfs": {
                        "size": f.size,
                        "sha256": f.listed_sha256 or f.sha256,
                        "pointerSize": 134,
                    },
                }
                for f in repo.files.values()
            ]
            self._json(entry, info)

        def _resolve(self, entry: LoggedRequest, method: str, repo_id: str, file_path: str) -> None:
            repo = hub.repos.get(repo_id)
            if repo is None:
                return self._error(entry, 404, "RepoNotFound", "Repository not found")
            if repo.gated and not entry.authorized:
                status = 403 if self.headers.get("Authorization") else 401
                return self._error(
                    entry, status, "GatedRepo", f"Access to model {repo_id} is restricted."
                )
            file = repo.files.get(file_path)
            if file is None:
                return self._error(entry, 404, "EntryNotFound", "Entry not found")
            entry.status = 302
            self.send_response(302)
            self.send_header("Location", f"{hub.cdn}/{file.sha256}?name={file.path}")
            self.send_header("X-Repo-Commit", repo.sha)
            self.send_header("X-Linked-Etag", f'"{file.sha256}"')
            self.send_header("X-Linked-Size", str(file.size))
            self.send_header("ETag", f'"{hashlib.sha1(file.sha256.encode()).hexdigest()}"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _cdn(self, entry: LoggedRequest, method: str, sha: str) -> None:
            file = next(
                (f for r in hub.repos.values() for f in r.files.values() if f.sha256 == sha), None
            )
            if file is None:
                return self._error(entry, 404, "EntryNotFound", "No such object")
            failures = hub.faults.get(file.path, Faults()).fail_with
            if failures:
                status = failures.pop(0)
                code = "EntryNotFound" if status == 404 else "ServerError"
                return self._error(entry, status, code, f"Failing with {status} on purpose")
            start, end = 0, file.size - 1
            requested = self.headers.get("Range")
            if requested:
                match = re.fullmatch(r"bytes=(\d+)-(\d*)", requested.strip())
                if not match or int(match[1]) >= file.size:
                    entry.status = 416
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{file.size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = int(match[1])
                end = min(int(match[2]), file.size - 1) if match[2] else file.size - 1
            entry.status = 206 if requested else 200
            self.send_response(entry.status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(end - start + 1))
            self.send_header("ETag", f'"{file.sha256}"')
            if requested:
                self.send_header("Content-Range", f"bytes {start}-{end}/{file.size}")
            self.end_headers()
            if method == "GET":
                self._send_bytes(entry, file, start, end + 1)

        def _send_bytes(self, entry: LoggedRequest, file: HubFile, start: int, stop: int) -> None:
            faults = hub.faults.get(file.path, Faults())
            position = start
            with file.source.open("rb") as fh:
                fh.seek(start)
                while position < stop:
                    limit = stop
                    if faults.drop_after is not None:
                        limit = min(limit, start + faults.drop_after)
                    if faults.stall_at is not None and position <= faults.stall_at:
                        limit = min(limit, faults.stall_at)
                    if position >= limit:  # at a fault's offset
                        if faults.stall_at is not None and position == faults.stall_at:
                            faults.stall_at = None
                            faults.release.wait()
                            self._hang_up()
                            return
                        faults.drop_after = None
                        self._hang_up()  # mid-body: the client sees a broken transfer
                        return
                    block = fh.read(min(CHUNK, limit - position))
                    if faults.corrupt and position == 0:
                        block = bytes([block[0] ^ 0xFF]) + block[1:]
                    try:
                        self.wfile.write(block)
                    except OSError:
                        return
                    position += len(block)
                    entry.bytes_sent += len(block)
                    if faults.bytes_per_second:
                        time.sleep(len(block) / faults.bytes_per_second)

        # ---- helpers ----

        def _hang_up(self) -> None:
            """Close the connection now, mid-body: the client sees the transfer break."""
            self.close_connection = True
            with contextlib.suppress(OSError):  # the client may have gone already
                self.connection.shutdown(socket.SHUT_RDWR)

        def _json(self, entry: LoggedRequest, payload: Any) -> None:
            body = json.dumps(payload).encode()
            self.send_response(entry.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, entry: LoggedRequest, status: int, code: str, message: str) -> None:
            entry.status = status
            body = json.dumps({"error": message}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Error-Code", code)
            self.send_header("X-Error-Message", message)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    return Handler
