"""Errors a user can act on. Each carries a message written for the user that names no surface
(no menu, no command): the window and the command line show it with advice of their own for its
kind (`with_advice`, with the table in `ui/error_text.py` and in `cli/advice.py`)."""

from __future__ import annotations

from collections.abc import Mapping


class LanternError(Exception):
    """Base of every error whose message is meant for the user (no traceback is shown)."""

    @property
    def message(self) -> str:
        return str(self)


class EngineCrashed(LanternError, RuntimeError):
    """The engine process died (crash, abort, kill, out of memory). The next request restarts it."""


class EngineFailed(LanternError, RuntimeError):
    """The engine could not do a request but is still running."""


class ModelLoadFailed(EngineFailed):
    pass


class ContextOverflow(EngineFailed):
    pass


class InvalidConstraint(EngineFailed, ValueError):
    """A grammar or JSON schema for the output that llama.cpp cannot use."""


class InvalidChatTemplate(EngineFailed, ValueError):
    """The model's chat template cannot be rendered within Lantern's limits, or refuses the
    conversation."""


class NoModelLoaded(EngineFailed):
    pass


class ModelNotFound(LanternError, LookupError):
    pass


class ModelNotInstalled(ModelNotFound):
    """An installed model asked for by an id that no installed model has."""


class NoModelInstalled(LanternError, LookupError):
    pass


class InvalidModelFile(LanternError, ValueError):
    pass


class ConversationNotFound(LanternError, LookupError):
    pass


class PresetNotFound(LanternError, LookupError):
    pass


class InvalidConversationFile(LanternError, ValueError):
    """An import that is neither Lantern's JSON nor a list of role/content messages."""


class StarterModelUnavailable(LanternError, RuntimeError):
    pass


class EmbedderUnavailable(LanternError, RuntimeError):
    """The offline embedding model (all-MiniLM-L6-v2, from its PyPI wheel) could not be
    downloaded or converted."""


class EmbedderMissing(LanternError, LookupError):
    """Documents need an embedding model, and the one chosen (or any) is not installed."""


class InvalidCatalog(LanternError, ValueError):
    """models.json is malformed; the message names the entry and the field."""


class HubUnreachable(LanternError, ConnectionError):
    """The Hugging Face Hub (or the mirror in HF_ENDPOINT) did not answer."""


class HubAccessDenied(LanternError, PermissionError):
    """A gated or private repository, without a token that grants access."""


class RepoNotFound(LanternError, LookupError):
    pass


class NotEnoughMemory(LanternError, MemoryError):
    """A model that cannot fit in this machine's memory at the asked context."""


class NotEnoughDiskSpace(LanternError, OSError):
    pass


class DownloadFailed(LanternError, RuntimeError):
    pass


class ModelInTheWay(DownloadFailed):
    """A download would replace a model the user has: Lantern never does."""


class DownloadBusy(DownloadFailed):
    """Another Lantern process (a window or a `lantern models pull`) is fetching the same file."""


class UnsafeHubListing(LanternError, ValueError):
    """A Hub listing (or a mirror's) named a file, repository or hash that Lantern refuses to
    turn into a path on this computer."""


class PathOutsideFolder(LanternError, PermissionError):
    """A write, move or delete aimed at a path that does not resolve inside its folder."""


class EngineUnresponsive(EngineCrashed):
    """The engine gave no answer to a Stop (or a request) in time; Lantern ended it, and the
    next request starts a fresh one."""


class InvalidToken(LanternError, ValueError):
    """The access token typed or piped in is empty or not one word."""


# ---- remote engines: OpenAI-compatible servers the user added (engine/remote*.py) ----


class InvalidRemote(LanternError, ValueError):
    """A remote's name or URL that Lantern cannot use, or a name already taken."""


class RemoteNotFound(LanternError, LookupError):
    """No remote by that name has been added."""


class RemoteUnreachable(LanternError, ConnectionError):
    """The server did not answer: unknown host, connection refused, a TLS certificate that
    cannot be verified, or no answer in time."""


class RemoteAccessDenied(LanternError, PermissionError):
    """The server refused the API key (HTTP 401 or 403)."""


class RemoteModelNotFound(ModelNotFound):
    """The server has no model by that name (HTTP 404, or not among its /v1/models)."""


class RemoteBusy(EngineFailed):
    """The server stayed busy (HTTP 429 or 503) through every retry."""


class RemoteServerError(EngineFailed):
    """The server failed the request (HTTP 500 and the like) or refused it (HTTP 400)."""


class RemoteUnsupported(EngineFailed, ValueError):
    """Something asked of a server that it cannot do (its capabilities say which)."""


class RemoteConnectionLost(EngineCrashed):
    """The connection dropped in the middle of an answer: what came before is kept and marked,
    as after a local engine crash."""


class SecretStoreUnavailable(LanternError, RuntimeError):
    """The system keyring cannot keep an API key here."""


class RemoteClosed(EngineFailed):
    """A remote's connection was used after Lantern closed it: the remote was removed or
    changed meanwhile, or Lantern is closing."""


class RemoteApiNotFound(LanternError, LookupError):
    """The server has nothing at a path of the OpenAI API (HTTP 404 on /v1/models): the URL
    is not the API's base."""


class RemoteAnswerCut(EngineCrashed):
    """The server ended an answer for a reason that is not a normal end (vLLM's "abort", an
    "error"): what came before is kept and marked, as after a local engine crash."""


class RemoteKeyMissing(SecretStoreUnavailable):
    """A remote added with an API key whose key the system keyring no longer gives."""


def with_advice(error: LanternError, advice: Mapping[type[LanternError], str]) -> str:
    """The error's message, then the advice for its kind (the first that fits) from a surface's
    table: the message names no surface, the window and the command line each add theirs."""
    extra = next((text for kind, text in advice.items() if isinstance(error, kind)), "")
    return f"{error.message} {extra}".strip()


# ---- the engine pool (engine/pool.py) ----


class EngineClosed(EngineCrashed):
    """A request to an engine that Lantern has shut down (it is closing): none is started
    again. What was written so far is kept, as after a crash."""


class WaitCancelled(LanternError):
    """A task was stopped while it waited for the engine pool to lend it its model: it ends
    as stopped, having loaded nothing."""


class ModelNotLoadedYet(LanternError):
    """A count (or another look at the prompt) needs a model that is not loaded, and loading
    it now would unload another one: it is done once a run loads the model."""


# Documents: libraries of the user's files (store/documents.py).
class LibraryExists(LanternError, ValueError):
    """A library of that name is there already: names are unique."""


class LibraryNotFound(LanternError, LookupError):
    pass


# ---- the local OpenAI-compatible API (services/serving.py, server/) ----


class ApiRequestInvalid(LanternError, ValueError):
    """A request to Lantern's API that cannot be served as asked; `param` names the field
    at fault (None: the request as a whole)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class ToolsUnsupported(ApiRequestInvalid):
    """Tools (function calling) asked of a model whose chat template has no place for them."""


class ServerBusy(LanternError, RuntimeError):
    """Every place in the API's queue is taken; `retry_after_s` is when to try again."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ServerOptionInvalid(LanternError, ValueError):
    """A setting of the API server that Lantern refuses (a wildcard CORS origin, say)."""


class ServerStartFailed(LanternError, OSError):
    """The API server could not listen where asked (the port is taken, the address is not
    this computer's)."""
