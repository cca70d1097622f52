"""The user's Hugging Face access token, kept in the system keyring (Keychain, Credential
Manager, Secret Service), never in a plaintext file of Lantern's."""

from __future__ import annotations

import logging

import keyring
from keyring.errors import KeyringError, NoKeyringError

from desktop.errors import LanternError

log = logging.getLogger(__name__)

SERVICE = "Lantern"
ACCOUNT = "huggingface-token"


class TokenStoreUnavailable(LanternError, RuntimeError):
    pass


def stored_token() -> str | None:
    """The saved token, or None (also when no keyring works here: then Lantern falls back
    to huggingface_hub's own sources, HF_TOKEN and `hf auth login`)."""
    try:
        return keyring.get_password(SERVICE, ACCOUNT)
    except (KeyringError, NoKeyringError, RuntimeError) as exc:
        log.info("No keyring available for the Hub token: %s", exc)
        return None


def save_token(token: str) -> None:
    token = token.strip()
    if not token:
        raise TokenStoreUnavailable(
            "The token is empty. Copy it from https://huggingface.co/settings/tokens."
        )
    try:
        keyring.set_password(SERVICE, ACCOUNT, token)
    except (KeyringError, NoKeyringError, RuntimeError) as exc:
        raise TokenStoreUnavailable(
            "This system has no keyring to keep the token safely "
            f"({exc}). Set the HF_TOKEN environment variable instead."
        ) from exc


def forget_token() -> bool:
    """Remove the saved token; False when there was none."""
    try:
        keyring.delete_password(SERVICE, ACCOUNT)
    except keyring.errors.PasswordDeleteError:
        return False
    except (KeyringError, NoKeyringError, RuntimeError) as exc:
        raise TokenStoreUnavailable(f"The keyring cannot be changed here ({exc}).") from exc
    return True
