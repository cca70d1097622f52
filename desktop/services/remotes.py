"""The remote engines the user added, for the command line and the window alike: add one
(its connection tested first), list them, test one, remove one (and its API key), the models
of all of them, and a RemoteModel for a `NAME:MODEL` id, which the services use as they use a
local model (engine/text_model.py's TextModel).

Each remote gets one connection pool, made on first use and kept until the remote is removed
or the Lantern closes. Every call that talks to a server blocks: the window runs them on its
BackgroundTasks.
"""

from __future__ import annotations

import builtins
import dataclasses
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.errors import LanternError, RemoteModelNotFound
from desktop.models.remotes import (
    Remote,
    RemoteRegistry,
    ServedModel,
    checked_name,
    checked_url,
    forget_api_key,
    name_taken,
    remote_model_id,
    save_api_key,
    split_remote_model_id,
    stored_api_key,
)

if TYPE_CHECKING:
    from desktop.engine.remote import RemoteModel
    from desktop.engine.remote_http import ServerConnection
    from desktop.engine.remote_probe import ServerListing
    from desktop.engine.text_model import Capabilities

# Makes the connection to a server: (name, base URL, API key).
ConnectionFactory = Callable[[str, str, str | None], "ServerConnection"]
STATUS_THREADS = 8  # remotes checked at once by `statuses()`


@dataclass(frozen=True)
class RemoteCheck:
    """What testing a remote found: it answered, accepted the key, and can do this."""

    remote: Remote
    latency_s: float  # of its model listing
    server: str  # the kind of server: llama-server, llama-cpp-python, vllm, openai-compatible
    capabilities: Capabilities

    @property
    def models(self) -> tuple[ServedModel, ...]:
        return self.remote.models


@dataclass(frozen=True)
class RemoteStatus:
    """Whether a remote answers now (its model listing), without probing what it can do."""

    remote: Remote
    latency_s: float | None  # None: it did not answer
    models: int
    error: str | None = None  # why it did not, for the user

    @property
    def reachable(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class RemoteModelEntry:
    """A model of a remote, as the models lists show it beside the local ones."""

    id: str  # NAME:MODEL
    remote: str
    model: str
    context_length: int | None  # None: the server does not say
    capabilities: Capabilities  # as the remote's last test found them


class RemoteService:
    def __init__(self, remotes_file: Path, *, connect: ConnectionFactory | None = None) -> None:
        self._registry = RemoteRegistry(remotes_file)
        self._connect = connect
        self._connections: dict[str, ServerConnection] = {}
        self._lock = threading.Lock()

    def list(self) -> list[Remote]:
        return self._registry.list()

    def get(self, name: str) -> Remote:
        return self._registry.get(name)

    def add(self, name: str, url: str, api_key: str | None = None) -> RemoteCheck:
        """Test the server (it answers, accepts the key, lists its models; what it can do),
        then keep it, its key in the keyring. Nothing is kept if any of that fails."""
        name, url = checked_name(name), checked_url(url)
        api_key = (api_key or "").strip() or None
        if any(r.name == name for r in self.list()):
            raise name_taken(name)  # before any network
        connection = self._new_connection(name, url, api_key)
        try:
            check = self._probe(Remote(name, url, has_api_key=api_key is not None), connection)
            self._registry.add(check.remote)
            if api_key is not None:
                try:
                    save_api_key(name, api_key)
                except LanternError:
                    self._registry.remove(name)
                    raise
        except BaseException:
            connection.close()
            raise
        with self._lock:
            stale = self._connections.pop(name, None)  # of a remote of that name removed elsewhere
            self._connections[name] = connection
        if stale is not None:
            stale.close()
        return check

    def check(self, name: str) -> RemoteCheck:
        """Test the connection again and keep what it finds (models, what it can do)."""
        check = self._probe(self.get(name), self._connection(name))
        self._registry.update(check.remote)
        return check

    def status(self, name: str) -> RemoteStatus:
        """Whether the remote answers now, and how fast: never raises for a server's error."""
        from desktop.engine.remote_probe import list_models

        remote = self.get(name)
        try:
            listing = list_models(self._connection(name))
        except LanternError as exc:
            return RemoteStatus(remote, None, len(remote.models), exc.message)
        return RemoteStatus(remote, listing.latency_s, len(listing.models))

    def statuses(self) -> builtins.list[RemoteStatus]:
        """Every remote's status, asked of all of them at once."""
        names = [r.name for r in self.list()]
        if not names:
            return []
        with ThreadPoolExecutor(min(STATUS_THREADS, len(names))) as pool:
            return list(pool.map(self.status, names))

    def remove(self, name: str) -> Remote:
        """Forget the remote and its API key."""
        removed = self._registry.remove(name)
        forget_api_key(name)
        with self._lock:
            connection = self._connections.pop(name, None)
        if connection is not None:
            connection.close()
        return removed

    def capabilities(self, remote: Remote) -> Capabilities:
        """What the remote can do, as its last test found it (no network)."""
        from desktop.engine.remote_probe import ServerProfile

        return ServerProfile.from_json(remote.profile).capabilities(remote.name)

    def models(self) -> builtins.list[RemoteModelEntry]:
        """Every remote's models as their last test found them (no network)."""
        from desktop.engine.remote_probe import ServerProfile

        return [
            RemoteModelEntry(
                remote_model_id(r.name, m.id),
                r.name,
                m.id,
                m.context_length,
                ServerProfile.from_json(r.profile).capabilities(r.name),
            )
            for r in self.list()
            for m in r.models
        ]

    def model(self, model_id: str) -> RemoteModel:
        """The model for a `NAME:MODEL` id. A model the last test did not list is looked
        for once more on the server (it may have loaded one since)."""
        from desktop.engine.remote import RemoteModel
        from desktop.engine.remote_probe import ServerProfile, list_models

        split = split_remote_model_id(model_id)
        if split is None:
            raise RemoteModelNotFound(
                f"{model_id!r} is not a remote model's id: those read NAME:MODEL."
            )
        name, wanted = split
        remote = self.get(name)
        connection = self._connection(name)
        served = _served(remote, wanted)
        if served is None:
            listing = list_models(connection)
            remote = self._registry.update(dataclasses.replace(remote, models=listing.models))
            served = _served(remote, wanted)
        if served is None:
            listed = ", ".join(m.id for m in remote.models[:10]) or "none"
            raise RemoteModelNotFound(
                f"The server {name} has no model {wanted!r}. It serves: {listed}."
            )
        return RemoteModel(name, connection, ServerProfile.from_json(remote.profile), served)

    def close(self) -> None:
        with self._lock:
            connections = list(self._connections.values())
            self._connections.clear()
        for connection in connections:
            connection.close()

    # ---- connections ----

    def _probe(self, remote: Remote, connection: ServerConnection) -> RemoteCheck:
        from desktop.engine.remote_probe import list_models, probe_server

        listing: ServerListing = list_models(connection)
        profile = probe_server(connection, listing)
        tested = dataclasses.replace(remote, models=listing.models, profile=profile.to_json())
        capabilities = profile.capabilities(remote.name)
        return RemoteCheck(tested, listing.latency_s, profile.kind, capabilities)

    def _connection(self, name: str) -> ServerConnection:
        with self._lock:
            found = self._connections.get(name)
        if found is not None:
            return found
        remote = self.get(name)
        key = stored_api_key(name) if remote.has_api_key else None
        return self._keep_connection(name, self._new_connection(name, remote.url, key))

    def _keep_connection(self, name: str, connection: ServerConnection) -> ServerConnection:
        with self._lock:
            kept = self._connections.setdefault(name, connection)
        if kept is not connection:  # another thread made one meanwhile
            connection.close()
        return kept

    def _new_connection(self, name: str, url: str, api_key: str | None) -> ServerConnection:
        if self._connect is not None:
            return self._connect(name, url, api_key)
        from desktop.engine.remote_http import ServerConnection

        return ServerConnection(name, url, api_key)


def _served(remote: Remote, model: str) -> ServedModel | None:
    return next((m for m in remote.models if m.id == model), None)
