"""The API server's key (services/api_keys.py): made once, kept in the keyring, recognisable,
made anew on request; no keyring, no key kept, and a clear error."""

from __future__ import annotations

from pathlib import Path

import keyring
import pytest

from desktop.errors import SecretStoreUnavailable
from desktop.services.api_keys import KEY_PREFIX, KEYRING_ACCOUNT, KEYRING_SERVICE, ApiKeys


def test_the_key_is_made_once_and_kept_in_the_keyring(file_keyring: Path) -> None:
    key = ApiKeys().current()
    assert key.startswith(KEY_PREFIX) and len(key) > 40
    assert ApiKeys().current() == key  # another start reads the same one
    assert keyring.get_password(KEYRING_SERVICE, KEYRING_ACCOUNT) == key


def test_a_new_key_replaces_the_old_one_everywhere(file_keyring: Path) -> None:
    keys = ApiKeys()
    old = keys.current()
    new = keys.regenerate()
    assert new != old and new.startswith(KEY_PREFIX)
    assert keys.current() == new and ApiKeys().current() == new


def test_without_a_keyring_there_is_no_key_and_a_clear_error() -> None:
    # The tests' default keyring keeps nothing, as a system without one.
    with pytest.raises(SecretStoreUnavailable, match="no working keyring"):
        ApiKeys().current()
