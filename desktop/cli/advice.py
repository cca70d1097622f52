"""What the command line adds to an error's message: the commands that act on it. A service's
or the store's message names no surface (the window adds its own advice, `ui/error_text.py`);
here each kind of error gets the `lantern` commands that help."""

from __future__ import annotations

from desktop.errors import (
    ConversationNotFound,
    EmbedderMissing,
    EmbedderUnavailable,
    HubAccessDenied,
    LanternError,
    ModelInTheWay,
    ModelNotInstalled,
    NoModelInstalled,
    RemoteAccessDenied,
    RemoteKeyMissing,
    RemoteModelNotFound,
    RemoteNotFound,
    RemoteUnreachable,
    StarterModelUnavailable,
    with_advice,
)

ADVICE: dict[type[LanternError], str] = {
    NoModelInstalled: "Run `lantern models pull ID` (ids: `lantern models search`), `lantern "
    "models install-starter` for the small starter model, or `lantern models import PATH`.",
    ModelNotInstalled: "See `lantern models list`.",
    ModelInTheWay: "To remove it: `lantern models rm ID` (ids: `lantern models list`).",
    HubAccessDenied: "Give the token with `lantern models login`.",
    StarterModelUnavailable: "Import one with `lantern models import PATH`.",
    EmbedderMissing: "Install one with `lantern models install-embedder`, or download one "
    "from the catalog: `lantern models pull nomic-embed-text-v1.5`.",
    EmbedderUnavailable: "Or download an embedding model from the Hub: `lantern models pull "
    "all-minilm-l6-v2`.",
    ConversationNotFound: "See `lantern history list`.",
    RemoteAccessDenied: 'Give the server\'s key: `echo "$KEY" | lantern remote add NAME URL '
    "--api-key-stdin` (a remote already added: `lantern remote rm NAME` first).",
    RemoteUnreachable: "Check that the server is running and that its URL is right "
    "(`lantern remote list` shows it).",
    RemoteModelNotFound: "The models each remote serves: `lantern remote test NAME`.",
    RemoteNotFound: "See `lantern remote list`.",
    RemoteKeyMissing: "Remove it with `lantern remote rm NAME`, then add it again: "
    '`echo "$KEY" | lantern remote add NAME URL --api-key-stdin`.',
}


def error_line(error: LanternError) -> str:
    """The line `lantern` prints after "error: "."""
    return with_advice(error, ADVICE)
