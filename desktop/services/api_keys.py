"""The API key of Lantern's own OpenAI-compatible server (services/serving.py): made on the
first start, kept in the system keyring (never in a file), shown, copied and made anew in the
window. A key starts with `lt-`, so that a secret scanner or a person reading a config file
knows whose it is. Without a working keyring no key can be kept: SecretStoreUnavailable, and
`lantern serve --api-key-stdin` takes one for the run instead."""

from __future__ import annotations

import secrets
import threading

from desktop.errors import SecretStoreUnavailable

KEYRING_SERVICE = "lantern-server"
KEYRING_ACCOUNT = "api-key"
KEY_PREFIX = "lt-"
KEY_BYTES = 32  # 256 random bits: 43 characters after the prefix


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)


class ApiKeys:
    """The key, read from the keyring once and then kept in memory (the server checks it at
    every request). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: str | None = None

    def current(self) -> str:
        """The key; made and kept in the keyring if there is none yet."""
        with self._lock:
            if self._key is None:
                self._key = _stored() or _keep(new_api_key())
            return self._key

    def regenerate(self) -> str:
        """A new key in place of the old one, which no longer opens the server."""
        with self._lock:
            self._key = _keep(new_api_key())
            return self._key


def _stored() -> str | None:
    import keyring  # imported when used: it slows every command's start
    from keyring.errors import KeyringError

    try:
        return keyring.get_password(KEYRING_SERVICE, KEYRING_ACCOUNT)
    except (KeyringError, RuntimeError) as exc:
        raise SecretStoreUnavailable(
            f"The system keyring, where the API server's key is kept, cannot be read ({exc})."
        ) from exc


def _keep(key: str) -> str:
    """`key`, once the keyring holds it: read back, as a keyring may drop it silently."""
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(KEYRING_SERVICE, KEYRING_ACCOUNT, key)
        kept = keyring.get_password(KEYRING_SERVICE, KEYRING_ACCOUNT) == key
    except (KeyringError, RuntimeError) as exc:
        raise SecretStoreUnavailable(
            f"This system has no keyring to keep the API server's key safely ({exc}); Lantern "
            "never writes it to a file."
        ) from exc
    if not kept:
        raise SecretStoreUnavailable(
            "This system has no working keyring to keep the API server's key safely; Lantern "
            "never writes it to a file."
        )
    return key
