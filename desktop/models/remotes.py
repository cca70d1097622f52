"""The remote engines the user added: OpenAI-compatible servers (vLLM, llama.cpp's
llama-server, llama-cpp-python's server, Ollama, LM Studio...) by name and base URL.

They are kept in one JSON file in the config folder (`paths.AppPaths.remotes_file`), written
atomically under a file lock (a window and a `lantern` command may both change it); each API
key is in the system keyring, never in a file. With each remote the file keeps what its last
test found: its models and their context windows, and what the server can do (a plain
mapping here; `engine/remote_probe.py` reads and writes it).

A remote model's id, as `--model` takes it everywhere, is `NAME:MODEL`: split at the first
colon (a model's own name may hold more), so a remote's name holds none.
"""

from __future__ import annotations

import builtins
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from filelock import FileLock

from desktop.errors import InvalidRemote, RemoteKeyMissing, RemoteNotFound, SecretStoreUnavailable

log = logging.getLogger(__name__)

NAME_RULE = "1 to 40 letters, digits, '-', '_' or '.'"
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")
KEYRING_SERVICE = "Lantern"
FILE_VERSION = 1


@dataclass(frozen=True)
class ServedModel:
    """A model a server lists at /v1/models."""

    id: str
    context_length: int | None = None  # None: the server does not say


@dataclass(frozen=True)
class Remote:
    name: str
    url: str  # the base URL: scheme, host, port and any path before /v1
    has_api_key: bool = False
    models: tuple[ServedModel, ...] = ()  # as the last test found them
    # What the server can do, as its last test found it (engine/remote_probe.py's profile).
    profile: Mapping[str, Any] = field(default_factory=dict)


def checked_name(name: str) -> str:
    name = name.strip()
    if not _NAME.fullmatch(name):
        raise InvalidRemote(f"{name!r} cannot name a remote: use {NAME_RULE}.")
    return name


def checked_url(url: str) -> str:
    """The base URL as Lantern keeps it: http or https, a host, no credentials, query or
    fragment; without a trailing slash or /v1 (the OpenAI clients' base URL ends in /v1)."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  # raises ValueError for a port that is not a number
    except ValueError as exc:
        raise InvalidRemote(f"{text!r} is not a URL Lantern can use ({exc}).") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRemote(
            f"{text!r} is not a server's address: give it as http://HOST:PORT or "
            "https://HOST:PORT (e.g. http://192.168.1.20:8000)."
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidRemote(
            "Leave the user name and password out of the URL: give the API key on its own, "
            "so that it is kept in the system keyring."
        )
    if parts.query or parts.fragment:
        raise InvalidRemote(f"{text!r} has a query or fragment; give only the server's address.")
    path = parts.path.rstrip("/")
    path = path.removesuffix("/v1").rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def checked_api_key(key: str) -> str:
    """The key as it goes in the Authorization header: printable ASCII, one word."""
    key = key.strip()
    if not all("!" <= c <= "~" for c in key):
        # Never the key itself in the message: it would land in logs and terminals.
        raise InvalidRemote(
            "The API key holds characters an HTTP header cannot carry (spaces, or letters "
            "beyond plain ASCII): copy it again from the server's settings."
        )
    return key


def name_taken(name: str) -> InvalidRemote:
    return InvalidRemote(
        f"A remote is already named {name!r}: remove it first, or choose another name."
    )


def remote_model_id(remote: str, model: str) -> str:
    return f"{remote}:{model}"


def split_remote_model_id(model_id: str) -> tuple[str, str] | None:
    """(remote, model) for a `NAME:MODEL` id; None for any other id. Whether a local model
    has this very id (it then wins) is for the caller to check first."""
    remote, colon, model = model_id.partition(":")
    if not colon or not model or not _NAME.fullmatch(remote):
        return None
    return remote, model


class RemoteRegistry:
    """The remotes file. Each call reads it afresh: another Lantern may have changed it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = FileLock(str(path.with_name(path.name + ".lock")))

    def list(self) -> list[Remote]:
        with self._lock:
            return self._read()

    def get(self, name: str) -> Remote:
        for remote in self.list():
            if remote.name == name:
                return remote
        raise RemoteNotFound(f"No remote is named {name!r}.")

    def add(self, remote: Remote) -> Remote:
        with self._lock:
            remotes = self._read()
            if any(r.name == remote.name for r in remotes):
                raise name_taken(remote.name)
            self._write([*remotes, remote])
        return remote

    def update(self, remote: Remote) -> Remote:
        """Keep what a new test of `remote` found (its models, what it can do)."""
        with self._lock:
            remotes = self._read()
            if not any(r.name == remote.name for r in remotes):
                raise RemoteNotFound(f"No remote is named {remote.name!r}.")
            self._write([remote if r.name == remote.name else r for r in remotes])
        return remote

    def remove(self, name: str) -> Remote:
        with self._lock:
            remotes = self._read()
            gone = next((r for r in remotes if r.name == name), None)
            if gone is None:
                raise RemoteNotFound(f"No remote is named {name!r}.")
            self._write([r for r in remotes if r.name != name])
        return gone

    def _read(self) -> builtins.list[Remote]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise self._broken(str(exc)) from exc
        if not isinstance(data, dict) or not isinstance(data.get("remotes"), list):
            raise self._broken("it holds no list of remotes")
        remotes = []
        for entry in data["remotes"]:
            try:
                remotes.append(_remote_from_json(entry))
            except InvalidRemote as exc:
                log.warning("Left out an entry of %s: %s", self.path, exc)
        return remotes

    def _write(self, remotes: builtins.list[Remote]) -> None:
        data = {"version": FILE_VERSION, "remotes": [_remote_to_json(r) for r in remotes]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".tmp")
        partial.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(partial, self.path)  # a crash mid-write never leaves half a file

    def _broken(self, why: str) -> InvalidRemote:
        return InvalidRemote(
            f"The remotes file {self.path} cannot be read ({why}). Fix it, or delete it and "
            "add the remotes again."
        )


def _remote_to_json(remote: Remote) -> dict[str, Any]:
    return {
        "name": remote.name,
        "url": remote.url,
        "has_api_key": remote.has_api_key,
        "models": [{"id": m.id, "context_length": m.context_length} for m in remote.models],
        "profile": dict(remote.profile),
    }


def _remote_from_json(entry: Any) -> Remote:
    """An entry of the file (which a hand may have edited): InvalidRemote if it names no
    remote; its models that are not models are left out."""
    if not isinstance(entry, dict):
        raise InvalidRemote(f"{_clipped(entry)} is not a remote")
    name, url = entry.get("name"), entry.get("url")
    if not isinstance(name, str) or not isinstance(url, str):
        raise InvalidRemote(f"{_clipped(entry)} has no name and URL")
    models = entry.get("models")
    profile = entry.get("profile")
    return Remote(
        name=checked_name(name),
        url=checked_url(url),
        has_api_key=entry.get("has_api_key") is True,
        models=tuple(
            ServedModel(m["id"], _optional_int(m.get("context_length")))
            for m in (models if isinstance(models, list) else [])
            if isinstance(m, dict) and isinstance(m.get("id"), str)
        ),
        profile=profile if isinstance(profile, dict) else {},
    )


def _clipped(entry: Any) -> str:
    text = json.dumps(entry, ensure_ascii=False)
    return text if len(text) <= 80 else text[:79] + "…"


def _optional_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# ---- API keys, in the system keyring (imported when used: it slows every command's start) ----


def _account(name: str) -> str:
    return f"remote-api-key:{name}"


def save_api_key(name: str, key: str) -> None:
    """Keep `key` for the remote `name`; SecretStoreUnavailable when no keyring keeps it
    (one that silently drops it counts: the key is read back)."""
    import keyring
    from keyring.errors import KeyringError, NoKeyringError

    try:
        keyring.set_password(KEYRING_SERVICE, _account(name), key)
        kept = keyring.get_password(KEYRING_SERVICE, _account(name)) == key
    except (KeyringError, NoKeyringError, RuntimeError) as exc:
        raise SecretStoreUnavailable(
            f"This system has no keyring to keep the API key safely ({exc}); Lantern never "
            "writes it to a file."
        ) from exc
    if not kept:
        raise SecretStoreUnavailable(
            "This system has no working keyring to keep the API key safely; Lantern never "
            "writes it to a file."
        )


def stored_api_key(name: str) -> str | None:
    """The key kept for the remote `name`; None when none is kept. SecretStoreUnavailable
    when the keyring cannot be read (none here, or locked)."""
    import keyring
    from keyring.errors import KeyringError, NoKeyringError

    try:
        return keyring.get_password(KEYRING_SERVICE, _account(name))
    except (KeyringError, NoKeyringError, RuntimeError) as exc:
        raise SecretStoreUnavailable(
            f"The system keyring, where the API key of {name} is kept, cannot be read now "
            f"({exc}). Unlock it, or add the remote again."
        ) from exc


def api_key_of(remote: Remote) -> str | None:
    """The API key to send to `remote`: None for a remote added without one. A key that
    should be there and is not is an error, never a request sent without it."""
    if not remote.has_api_key:
        return None
    key = stored_api_key(remote.name)
    if not key:
        raise RemoteKeyMissing(
            f"The API key of {remote.name} is not in this system's keyring (it was removed, "
            "or the keyring is another one now): add the remote again with its key."
        )
    return key


def forget_api_key(name: str) -> str | None:
    """Remove the key kept for the remote `name`. None once it is gone (or none was kept);
    else why it is still there, and where."""
    import keyring
    from keyring.errors import KeyringError, NoKeyringError, PasswordDeleteError

    try:
        keyring.delete_password(KEYRING_SERVICE, _account(name))
    except PasswordDeleteError:
        pass  # none was kept
    except (KeyringError, NoKeyringError, RuntimeError) as exc:
        log.warning("Could not remove the API key of %s from the keyring: %s", name, exc)
        return (
            f"the keyring would not remove it ({exc or type(exc).__name__}); remove the entry "
            f'"{_account(name)}" of the service "{KEYRING_SERVICE}" there'
        )
    return None
