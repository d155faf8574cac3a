"""Key material in memory: cannot be printed, pickled or compared by accident, and can be wiped."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

AES_256_KEY_BYTES = 32
T = TypeVar("T")


class KeyMaterial:
    """Secret key bytes.

    The bytes are reachable only through :meth:`expose_secret_bytes`, a name that shows up
    in review. ``repr``/``str`` say nothing, pickling raises, and :meth:`wipe` overwrites the
    buffer. Copies that `cryptography` makes internally are beyond our reach; wiping is
    best effort against memory disclosure, not a guarantee (see DESIGN §5).
    """

    __slots__ = ("__weakref__", "_aead", "_buffer", "_derived", "_wiped")

    def __init__(self, secret: bytes | bytearray) -> None:
        self._buffer = bytearray(secret)
        self._aead: AESGCM | None = None
        self._derived: Any = None
        self._wiped = False

    def __len__(self) -> int:
        return len(self._buffer)

    def __repr__(self) -> str:
        return f"<KeyMaterial {len(self._buffer)} bytes, redacted>"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("KeyMaterial cannot be pickled")

    def __getstate__(self) -> NoReturn:
        raise TypeError("KeyMaterial cannot be pickled")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KeyMaterial):
            return NotImplemented
        return hmac.compare_digest(bytes(self._buffer), bytes(other._buffer))

    __hash__ = None  # type: ignore[assignment]  # key material is never a dict key

    def expose_secret_bytes(self) -> bytes:
        """WARNING: returns the raw key. Only crypto code and a caller returning a data key
        to its owner (GenerateDataKey's Plaintext) should ever need this."""
        self._check_not_wiped()
        return bytes(self._buffer)

    @property
    def wiped(self) -> bool:
        """True once :meth:`wipe` ran (a user racing an eviction can tell and reload)."""
        return self._wiped

    def _check_not_wiped(self) -> None:
        if self._wiped:
            raise ValueError("key material has been wiped")

    def aesgcm(self) -> AESGCM:
        """The AES-GCM primitive for this key, built once (construction costs ~1 µs)."""
        self._check_not_wiped()
        if self._aead is None:
            if len(self._buffer) != AES_256_KEY_BYTES:
                raise ValueError("AES-256-GCM needs a 32-byte key")
            self._aead = AESGCM(bytes(self._buffer))
        return self._aead

    def derived(self, build: Callable[[bytes], T]) -> T:
        """An object built once from the key bytes (e.g. a parsed private key) and kept
        until :meth:`wipe`. One ``build`` per key: callers pass the same function."""
        self._check_not_wiped()
        if self._derived is None:
            self._derived = build(bytes(self._buffer))
        return self._derived  # type: ignore[no-any-return]

    def wipe(self) -> None:
        """Overwrite the key bytes with zeros and drop the derived primitives."""
        for i in range(len(self._buffer)):
            self._buffer[i] = 0
        self._aead = None
        self._derived = None
        self._wiped = True
