"""What the window says when something fails. Signals and callbacks carry the exception itself,
so that a page can act on its kind (`isinstance(error, NoModelInstalled)`); this turns it
into the sentence shown, with the advice that fits the window (the CLI adds its own: commands).
"""

from __future__ import annotations

from desktop.errors import (
    EmbedderMissing,
    EmbedderUnavailable,
    HubAccessDenied,
    LanternError,
    LibraryExists,
    LibraryNotFound,
    ModelInTheWay,
    NoModelInstalled,
    RemoteAccessDenied,
    RemoteKeyMissing,
    RemoteModelNotFound,
    RemoteNotFound,
    RemoteUnreachable,
    SecretStoreUnavailable,
    StarterModelUnavailable,
    with_advice,
)

# Where in the window the user can act on an error; the message itself names no surface.
ADVICE: dict[type[LanternError], str] = {
    NoModelInstalled: "Get one on the Models page: the Catalog, or Search.",
    ModelInTheWay: "It is on the Models page, under Installed.",
    HubAccessDenied: "Give the token on the Models page (Hub token).",
    StarterModelUnavailable: "Import one on the Models page (Installed > Import GGUF…).",
    RemoteAccessDenied: "Give the server's API key when adding it on the Models page (Remote); "
    "a remote already added: remove it and add it again.",
    RemoteUnreachable: "Check that the server is running; its URL is on the Models page, "
    "under Remote.",
    RemoteModelNotFound: "Test the remote on the Models page (Remote) to see its models.",
    RemoteNotFound: "The remotes are on the Models page, under Remote.",
    RemoteKeyMissing: "Remove the remote on the Models page (Remote) and add it again with "
    "its key.",
    # After RemoteKeyMissing, which is one of these with advice of its own.
    SecretStoreUnavailable: "Lantern keeps keys in the system keyring: on Linux, install or "
    "unlock one (GNOME Keyring or KWallet: a Secret Service), then try again.",
    EmbedderMissing: "Install the embedding model with the button on the Documents page, or "
    "download one from the Models page's Catalog (nomic-embed-text-v1.5, for example).",
    EmbedderUnavailable: "Check the connection and try again, or download an embedding model "
    "from the Models page's Catalog.",
    LibraryExists: "Choose another name, or add the files to that library.",
    LibraryNotFound: "The libraries are on the Documents page.",
}


def error_text(error: BaseException) -> str:
    """Our own message (with the window's advice for its kind), or a pointer to the log for a
    bug."""
    if not isinstance(error, LanternError):
        return (
            f"Something went wrong ({type(error).__name__}: {error}). Details are in the log file."
        )
    return with_advice(error, ADVICE)
