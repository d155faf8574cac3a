"""KMS pagination markers: opaque to clients, checked on the way back in."""

from __future__ import annotations

import base64
import binascii

from strongroom.errors import InvalidMarkerException

_SEPARATOR = "\x1f"


def encode(listing: str, after: str) -> str:
    """A marker for the page after ``after`` in the listing named ``listing``."""
    return base64.urlsafe_b64encode(f"{listing}{_SEPARATOR}{after}".encode()).decode()


def decode(listing: str, marker: str | None) -> str | None:
    """The position a marker encodes; InvalidMarkerException if it is not one of ours."""
    if marker is None:
        return None
    try:
        text = base64.urlsafe_b64decode(marker.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise InvalidMarkerException("Invalid marker.") from exc
    name, separator, after = text.partition(_SEPARATOR)
    if separator != _SEPARATOR or name != listing or not after:
        raise InvalidMarkerException("Invalid marker.")
    return after
