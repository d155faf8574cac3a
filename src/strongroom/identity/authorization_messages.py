"""Encoded authorization failure messages: sealed here, opened by DecodeAuthorizationMessage."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from strongroom.crypto.key_wrapping import UnwrapFailed
from strongroom.errors import InvalidAuthorizationMessageException
from strongroom.kms.keyring import KeyRing

MESSAGE_LABEL = b"strongroom/authorization-message/v1"
# Bounds the work an attacker can make DecodeAuthorizationMessage do.
MAX_ENCODED_LENGTH = 10_240


class AuthorizationMessages:
    """Seals the details of a denial so only the server (for an authorized caller) reads them.

    The details name policies and statements the caller may not be allowed to see, so the
    caller gets them only through ``sts:DecodeAuthorizationMessage``, as on AWS.
    """

    def __init__(self, keyring: KeyRing) -> None:
        self._keyring = keyring

    def encode(self, details: dict[str, Any]) -> str:
        plaintext = json.dumps(details, separators=(",", ":"), sort_keys=True).encode()
        sealed = self._keyring.wrap_secret(plaintext, MESSAGE_LABEL, b"")
        return base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    def decode(self, text: str) -> str:
        """The JSON document sealed in ``text``; InvalidAuthorizationMessageException otherwise."""
        if not text or len(text) > MAX_ENCODED_LENGTH:
            raise InvalidAuthorizationMessageException("The encoded message is not valid.")
        try:
            sealed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            plaintext = self._keyring.unwrap_secret(sealed, MESSAGE_LABEL, b"")
        except (binascii.Error, ValueError, UnwrapFailed) as exc:
            raise InvalidAuthorizationMessageException("The encoded message is not valid.") from exc
        return plaintext.decode()
