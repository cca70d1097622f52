"""The remote engines the user added, for the command line and the window alike: add one
(its connection tested first), list them, test one, remove one (and its API key), the models
of all of them, and a RemoteModel for a `NAME:MODEL` id, which the services use as they use a
local model (engine/text_model.py's TextModel).

Each remote gets one connection pool, made on first use and kept until the remote is removed
or the Lantern closes, or the file says the remote is now another (removed and added again by
another Lantern: a new URL or key); with it, each model's token counts, which a chat needs
every turn. Every call that talks to a server blocks: the window runs them on its
BackgroundTasks.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from desktop.errors import (
    InvalidRemote,
    LanternError,
    RemoteAccessDenied,
    RemoteApiNotFound,
    RemoteBusy,
    RemoteModelNotFound,
    RemoteUnreachable,
    SecretStoreUnavailable,
)
from desktop.models.remotes import (
    Remote,
    RemoteRegistry,
    ServedModel,
    api_key_of,
    checked_name,
    checked_url,
    forget_api_key,
    name_taken,
    remote_model_id,
    save_api_key,
    split_remote_model_id,
)

if TYPE_CHECKING:
    from desktop.engine.remote import RemoteModel, TokenCounts
    from desktop.engine.remote_http import ServerConnection
    from desktop.engine.remote_probe import ServerListing
    from desktop.engine.text_model import Capabilities

log = logging.getLogger(__name__)

# Makes the connection to a server: (name, base URL, API key).
STATUS_THREADS = 8  # remotes checked at once by `statuses()`
# A status is a glance, asked each time the Remote tab shows: a server silent this long does
# not answer now, and one that is busy says so (no retries).
STATUS_TIMEOUT_S = 5.0
# Why a remote's status is not "answers": it was not reached (unreachable, or its key is not
# in the keyring, so it was not asked), or it answered with an error.
StatusProblem = Literal["unreachable", "no_key", "key_refused", "busy", "not_found", "server_error"]
_PROBLEMS: tuple[tuple[type[LanternError], StatusProblem], ...] = (
    (RemoteUnreachable, "unreachable"),
    (SecretStoreUnavailable, "no_key"),
    (RemoteAccessDenied, "key_refused"),
    (RemoteBusy, "busy"),
    (RemoteApiNotFound, "not_found"),
)


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
    latency_s: float | None  # None: it did not answer with its models
    models: int
    error: str | None = None  # what went wrong, for the user
    problem: StatusProblem | None = None  # its kind

    @property
    def reachable(self) -> bool:
        """It answered: with its models, or with an error of its own (a refused key...)."""
        return self.problem not in ("unreachable", "no_key")


@dataclass(frozen=True)
class RemoteModelEntry:
    """A model of a remote, as the models lists show it beside the local ones."""

    id: str  # NAME:MODEL
    remote: str
    model: str
    context_length: int | None  # None: the server does not say
    capabilities: Capabilities  # as the remote's last test found them


@dataclass(frozen=True)
class RemoteModelListing:
    """The remotes' models, for a list beside the local models."""

    entries: tuple[RemoteModelEntry, ...]
    unreadable: str | None = None  # why the remotes file cannot be read (then no entries)


@dataclass(frozen=True)
class RemovedRemote(Remote):
    """A remote just removed (a Remote still, for those who only show its name)."""

    api_key_left: str | None = None  # why its API key is still in the keyring, and where


@dataclass
class _Connected:
    """A remote's connection, with the URL and key it was made for, and its models' token
    counts (by the server's tokenizer, kept from one request to the next)."""

    url: str
    api_key: str | None
    connection: ServerConnection
    counts: dict[str, TokenCounts] = field(default_factory=dict)

    def serves(self, url: str, api_key: str | None) -> bool:
        return (self.url, self.api_key) == (url, api_key)


class RemoteService:
    def __init__(self, remotes_file: Path) -> None:
        self._registry = RemoteRegistry(remotes_file)
        self._connections: dict[str, _Connected] = {}
        self._lock = threading.Lock()
        self._unreadable_said: str | None = None  # logged once, not at every listing

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
        self._keep(name, _Connected(url, api_key, connection))
        return check

    def check(self, name: str) -> RemoteCheck:
        """Test the connection again and keep what it finds (models, what it can do)."""
        remote = self.get(name)
        check = self._probe(remote, self._connected(remote).connection)
        self._registry.update(check.remote)
        return check

    def status(self, name: str) -> RemoteStatus:
        """Whether the remote answers now, and how fast: never raises for a server's error."""
        from desktop.engine.remote_http import ServerConnection
        from desktop.engine.remote_probe import list_models

        remote = self.get(name)
        try:
            with contextlib.closing(
                ServerConnection(
                    name,
                    remote.url,
                    api_key_of(remote),
                    connect_timeout_s=STATUS_TIMEOUT_S,
                    read_timeout_s=STATUS_TIMEOUT_S,
                    busy_retries=0,
                )
            ) as connection:
                listing = list_models(connection)
        except LanternError as exc:
            return RemoteStatus(remote, None, len(remote.models), exc.message, problem_of(exc))
        return RemoteStatus(remote, listing.latency_s, len(listing.models))

    def statuses(self) -> builtins.list[RemoteStatus]:
        """Every remote's status, asked of all of them at once."""
        names = [r.name for r in self.list()]
        if not names:
            return []
        with ThreadPoolExecutor(min(STATUS_THREADS, len(names))) as pool:
            return list(pool.map(self.status, names))

    def remove(self, name: str) -> RemovedRemote:
        """Forget the remote and its API key (`api_key_left` says why the key stays, if
        the keyring would not let it go)."""
        removed = self._registry.remove(name)
        left = forget_api_key(name)
        with self._lock:
            connected = self._connections.pop(name, None)
        if connected is not None:
            connected.connection.close()
        kept = {f.name: getattr(removed, f.name) for f in dataclasses.fields(Remote)}
        return RemovedRemote(**kept, api_key_left=left)

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

    def model_listing(self) -> RemoteModelListing:
        """The remotes' models for a list beside the local ones: none, and why (logged once),
        when the remotes file cannot be read, so that it never hides the local models."""
        try:
            return RemoteModelListing(tuple(self.models()))
        except InvalidRemote as exc:
            if exc.message != self._unreadable_said:
                log.warning("Remote models left out: %s", exc.message)
                self._unreadable_said = exc.message
            return RemoteModelListing((), exc.message)

    def model(self, model_id: str) -> RemoteModel:
        """The model for a `NAME:MODEL` id. A model the last test did not list is looked
        for once more on the server (it may have loaded one since)."""
        from desktop.engine.remote import RemoteModel, TokenCounts
        from desktop.engine.remote_probe import ServerProfile, list_models

        split = split_remote_model_id(model_id)
        if split is None:
            raise RemoteModelNotFound(
                f"{model_id!r} is not a remote model's id: those read NAME:MODEL."
            )
        name, wanted = split
        remote = self.get(name)
        connected = self._connected(remote)
        served = _served(remote, wanted)
        if served is None:
            listing = list_models(connected.connection)
            remote = self._registry.update(dataclasses.replace(remote, models=listing.models))
            served = _served(remote, wanted)
        if served is None:
            listed = ", ".join(m.id for m in remote.models[:10]) or "none"
            raise RemoteModelNotFound(
                f"The server {name} has no model {wanted!r}. It serves: {listed}."
            )
        counts = connected.counts.setdefault(served.id, TokenCounts())
        profile = ServerProfile.from_json(remote.profile)
        return RemoteModel(name, connected.connection, profile, served, counts=counts)

    def own_connection(self, name: str) -> ServerConnection:
        """A new connection to the remote, for the caller alone (it closes it): a baseline
        that shares nothing with Lantern's own requests."""
        remote = self.get(name)
        return self._new_connection(name, remote.url, api_key_of(remote))

    def close(self) -> None:
        with self._lock:
            connected = list(self._connections.values())
            self._connections.clear()
        for each in connected:
            each.connection.close()

    # ---- connections ----

    def _probe(self, remote: Remote, connection: ServerConnection) -> RemoteCheck:
        from desktop.engine.remote_probe import list_models, probe_server

        listing: ServerListing = list_models(connection)
        profile = probe_server(connection, listing)
        tested = dataclasses.replace(remote, models=listing.models, profile=profile.to_json())
        capabilities = profile.capabilities(remote.name)
        return RemoteCheck(tested, listing.latency_s, profile.kind, capabilities)

    def _connected(self, remote: Remote) -> _Connected:
        """The connection for the remote as the file has it now: the one kept, unless it
        was made for another URL or key (another Lantern removed the remote and added it
        again). Nothing is kept when the key cannot be read."""
        key = api_key_of(remote)
        with self._lock:
            found = self._connections.get(remote.name)
        if found is not None and found.serves(remote.url, key):
            return found
        fresh = _Connected(remote.url, key, self._new_connection(remote.name, remote.url, key))
        return self._keep(remote.name, fresh)

    def _keep(self, name: str, fresh: _Connected) -> _Connected:
        """Keep `fresh` as the remote's connection, closing the one it replaces; unless
        another thread kept one for the same URL and key meanwhile: that one, then."""
        with self._lock:
            current = self._connections.get(name)
            if current is not None and current.serves(fresh.url, fresh.api_key):
                fresh.connection.close()
                return current
            self._connections[name] = fresh
        if current is not None:
            current.connection.close()
        return fresh

    def _new_connection(self, name: str, url: str, api_key: str | None) -> ServerConnection:
        from desktop.engine.remote_http import ServerConnection

        return ServerConnection(name, url, api_key)


def problem_of(error: LanternError) -> StatusProblem:
    """What kind of trouble a remote's error is, in a word a list can show."""
    return next((p for kind, p in _PROBLEMS if isinstance(error, kind)), "server_error")


def _served(remote: Remote, model: str) -> ServedModel | None:
    return next((m for m in remote.models if m.id == model), None)
