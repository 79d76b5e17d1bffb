"""Encryption of personal data at rest, and keyed hashes to find equal values without decrypting.

`FIELD_ENCRYPTION_KEYS` is a list of Fernet keys: the first encrypts, every one decrypts. To
rotate, put a new key first, deploy, run `manage.py rotate_encryption`, then drop the old key.
`ID_HASH_KEY` keys the HMAC that stands beside an encrypted value for uniqueness and lookup
(changing it needs `rotate_encryption --rehash`).

With DEBUG or TESTING on and no keys configured, keys are derived from SECRET_KEY so a
development machine works out of the box; without DEBUG the settings refuse to start instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["DecryptionError", "decrypt", "encrypt", "keyed_hash", "needs_rotation", "rotate"]


class DecryptionError(Exception):
    """A stored value none of the configured keys can open (a key was dropped too early)."""


def _development_allowed() -> bool:
    return bool(settings.DEBUG or getattr(settings, "TESTING", False))


def _derived(purpose: str) -> bytes:
    return hashlib.sha256(f"{purpose}:{settings.SECRET_KEY}".encode()).digest()


def _configured_keys() -> tuple[str, ...]:
    keys = tuple(k.strip() for k in getattr(settings, "FIELD_ENCRYPTION_KEYS", ()) or () if k.strip())
    if keys:
        return keys
    if not _development_allowed():
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set when DEBUG is off.")
    return (base64.urlsafe_b64encode(_derived("field-encryption")).decode(),)


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe base64 bytes)."
        ) from exc


def _multi() -> MultiFernet:
    return _fernet(_configured_keys())


def _hash_key() -> bytes:
    key = getattr(settings, "ID_HASH_KEY", "") or ""
    if key:
        return key.encode()
    if not _development_allowed():
        raise ImproperlyConfigured("ID_HASH_KEY must be set when DEBUG is off.")
    return _derived("id-hash")


def encrypt(text: str) -> str:
    return _multi().encrypt(text.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _multi().decrypt(token.encode("ascii")).decode()
    except InvalidToken as exc:
        raise DecryptionError("no configured key decrypts this value") from exc


def rotate(token: str) -> str:
    """The same plaintext, encrypted under the current first key."""
    try:
        return _multi().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise DecryptionError("no configured key decrypts this value") from exc


def needs_rotation(token: str) -> bool:
    """Whether the first key alone cannot open this value (it was written under an older key)."""
    first = Fernet(_configured_keys()[0].encode())
    try:
        first.decrypt(token.encode("ascii"))
    except InvalidToken:
        return True
    return False


def keyed_hash(text: str) -> str:
    return hmac.new(_hash_key(), text.encode(), hashlib.sha256).hexdigest()
