"""The Hugging Face Hub, as far as Lantern needs it: search GGUF repositories, list a
repository's model files, and read a GGUF header over the network before downloading.

Only runs when the user searches, opens a repository or downloads: nothing here is called
at start-up. `HF_ENDPOINT` points it at a mirror (or the tests' local Hub).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from huggingface_hub import HfApi, get_session, hf_hub_url, hf_raise_for_status
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import build_hf_headers

from desktop.errors import HubAccessDenied, HubUnreachable, RepoNotFound, UnsafeHubListing
from desktop.models.gguf_header import REMOTE_HEADER_LIMIT, GgufHeader, read_gguf_header
from desktop.models.repo_files import (
    ModelFiles,
    RepoFile,
    group_model_files,
    hub_repo_id,
    repo_file,
)

log = logging.getLogger(__name__)

SearchOrder = Literal["downloads", "likes", "recent"]
_SORT_FIELDS: dict[str, Any] = {
    "downloads": "downloads",
    "likes": "likes",
    "recent": "last_modified",
}
TOKEN_HELP = (
    "Accept the model's terms on its page ({url}) while signed in, create an access "
    "token at https://huggingface.co/settings/tokens, and give it to Lantern."
)


@dataclass(frozen=True)
class HubModel:
    """A repository as a search result shows it; GGUF details where the Hub provides them."""

    repo: str
    downloads: int
    likes: int
    last_modified: datetime | None
    gated: bool
    architecture: str | None
    context_length: int | None
    parameters: int | None


@dataclass(frozen=True)
class HubRepository:
    model: HubModel
    revision: str  # the commit the file list belongs to; downloads pin it
    files: list[ModelFiles]
    # Listed files Lantern refused to turn into paths (a backslash, a drive, `..`, a sha256
    # that is not hex...): left out of `files`, named here so messages can say so.
    left_out: tuple[str, ...] = ()

    def left_out_notice(self) -> str | None:
        """A sentence naming the model files left out as unsafe, if any."""
        models = [name for name in self.left_out if ".gguf" in name.lower()]
        if not models:
            return None
        names = ", ".join(repr(name) for name in models)
        return (
            f"Left out because their names or hashes are unsafe to save on this computer: {names}"
            " (see the log)."
        )


class HubClient:
    """`token()` gives the user's Hub token or None; asked on each call, so a token added
    while the app runs is used at once."""

    def __init__(self, token: Callable[[], str | None], endpoint: str | None = None) -> None:
        self.endpoint = (
            endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
        ).rstrip("/")
        self._token = token

    def _api(self) -> HfApi:
        return HfApi(endpoint=self.endpoint, token=self._token(), library_name="lantern")

    def search(
        self, text: str, order: SearchOrder = "downloads", limit: int = 40
    ) -> list[HubModel]:
        """GGUF repositories whose name contains `text`, most downloaded (liked, recent) first."""
        with hub_errors(text):
            found = self._api().list_models(
                search=text or None,
                filter="gguf",
                sort=_SORT_FIELDS[order],
                limit=limit,
                expand=["downloads", "likes", "lastModified", "gated", "gguf"],
            )
            return [model for info in found if (model := _searched_model(info)) is not None]

    def repository(self, repo: str) -> HubRepository:
        """A repository's GGUF models (split files grouped), with sizes and sha256 of each part.
        UnsafeHubListing for a repository id that cannot name a folder; a listed file that
        cannot is left out (and logged), so one bad name does not hide the good files."""
        with hub_errors(repo):
            info = self._api().model_info(hub_repo_id(repo), files_metadata=True)
        model = _hub_model(info)
        files, left_out = _listed_files(model.repo, info.siblings or [])
        return HubRepository(model, info.sha or "main", group_model_files(files), left_out)

    def file_url(self, repo: str, revision: str, path: str) -> str:
        return hf_hub_url(repo, path, revision=revision, endpoint=self.endpoint)

    def request_headers(self) -> dict[str, str]:
        return build_hf_headers(token=self._token(), library_name="lantern")

    def read_header(self, repo: str, revision: str, path: str) -> GgufHeader:
        """A GGUF file's header, from ranged reads of its first megabytes (not the weights)."""
        url = self.file_url(repo, revision, path)
        headers = self.request_headers()

        def read_prefix(size: int) -> bytes:
            # Streamed and cut at `size`: a server that ignores Range must not send the weights.
            data = bytearray()
            with (
                hub_errors(repo),
                get_session().stream(
                    "GET", url, headers={**headers, "Range": f"bytes=0-{size - 1}"}, timeout=30
                ) as response,
            ):
                if response.status_code >= 400:
                    response.read()
                    hf_raise_for_status(response)
                for block in response.iter_bytes():
                    data += block
                    if len(data) >= size:
                        break
            return bytes(data[:size])

        return read_gguf_header(read_prefix, limit=REMOTE_HEADER_LIMIT)


def _listed_files(repo: str, siblings: list[Any]) -> tuple[list[RepoFile], tuple[str, ...]]:
    """The listing's files that are safe to save, and the names of those left out."""
    files: list[RepoFile] = []
    left_out: list[str] = []
    for sibling in siblings:
        lfs = sibling.lfs
        try:
            files.append(
                repo_file(
                    sibling.rfilename,
                    lfs.size if lfs else sibling.size or 0,
                    lfs.sha256 if lfs else None,
                )
            )
        except UnsafeHubListing as exc:
            log.warning("Left out of %s: %s", repo, exc)
            left_out.append(str(sibling.rfilename))
    return files, tuple(left_out)


def _searched_model(info: Any) -> HubModel | None:
    """A search result; None (logged) for one whose id Lantern could not download from."""
    try:
        return _hub_model(info)
    except UnsafeHubListing as exc:
        log.warning("Left a search result out: %s", exc)
        return None


def _hub_model(info: Any) -> HubModel:
    gguf = info.gguf if isinstance(info.gguf, dict) else {}
    return HubModel(
        repo=hub_repo_id(info.id),
        downloads=info.downloads or 0,
        likes=info.likes or 0,
        last_modified=info.last_modified,
        gated=bool(info.gated),
        architecture=gguf.get("architecture"),
        context_length=gguf.get("context_length"),
        parameters=gguf.get("total"),
    )


@contextmanager
def hub_errors(subject: str) -> Iterator[None]:
    """huggingface_hub's and the network's exceptions, as errors written for the user."""
    page = f"https://huggingface.co/{subject}"
    try:
        yield
    except GatedRepoError as exc:
        raise HubAccessDenied(
            f"{subject} is a gated model: the Hub lets only approved accounts download it. "
            + TOKEN_HELP.format(url=page)
        ) from exc
    except RepositoryNotFoundError as exc:
        raise RepoNotFound(
            f"The Hub has no model repository called '{subject}' (or it is private). "
            "Check the name, e.g. `bartowski/Qwen2.5-7B-Instruct-GGUF`."
        ) from exc
    except RevisionNotFoundError as exc:
        raise RepoNotFound(
            f"The version of {subject} Lantern asked for is gone from the Hub."
        ) from exc
    except RemoteEntryNotFoundError as exc:
        raise RepoNotFound(
            f"{subject} no longer has this file (renamed or removed upstream). Open the "
            "repository again to see the files it has now."
        ) from exc
    except OfflineModeIsEnabled as exc:
        raise HubUnreachable(
            "Hub access is switched off (HF_HUB_OFFLINE is set). Unset it to search or download."
        ) from exc
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise HubUnreachable(
            f"The Hub answered with an error ({status}). Try again later."
        ) from exc
    except Exception as exc:
        if is_network_error(exc):
            raise HubUnreachable(_offline_message(exc)) from exc
        raise


def is_network_error(exc: BaseException) -> bool:
    """Connection refused, DNS failure, a dropped connection, a timeout: worth a retry."""
    # httpx's exceptions (huggingface_hub's transport) are not OSErrors; name them by module.
    return isinstance(exc, ConnectionError | TimeoutError) or type(exc).__module__.startswith(
        "httpx"
    )


def _offline_message(exc: Exception) -> str:
    return (
        "Cannot reach the Hugging Face Hub. Check the internet connection (or HF_ENDPOINT, "
        f"if you use a mirror). ({type(exc).__name__}: {exc})"
    )
