"""Root-key providers: where the key at the top of the hierarchy comes from.

The root key wraps the domain key and nothing else. These providers read at most one
file or one environment variable; that is the only I/O in ``strongroom.crypto``.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path
from typing import Protocol

from strongroom.crypto.key_material import AES_256_KEY_BYTES, KeyMaterial

DEV_ROOT_KEY_HEADER = (
    "# DEVELOPMENT ONLY: Strongroom root key stored in the clear next to the data it protects.\n"
    "# Anyone who can read this file can decrypt every secret in this data directory.\n"
)


class RootKeyUnavailable(Exception):
    """The configured root key could not be loaded."""


class RootKeyProvider(Protocol):
    """Where the root key comes from; ``describe`` names the source without revealing it."""

    def load(self) -> KeyMaterial: ...

    def describe(self) -> str: ...


def _decode(text: str, source: str) -> KeyMaterial:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RootKeyUnavailable(f"{source}: root key is not valid base64") from exc
    if len(raw) != AES_256_KEY_BYTES:
        raise RootKeyUnavailable(f"{source}: root key must be 32 bytes (base64 of 32 bytes)")
    return KeyMaterial(raw)


class EnvRootKeyProvider:
    """The root key as base64 in an environment variable (e.g. injected by an orchestrator)."""

    def __init__(self, variable: str = "STRONGROOM_ROOT_KEY") -> None:
        self._variable = variable

    def load(self) -> KeyMaterial:
        value = os.environ.get(self._variable)
        if not value:
            raise RootKeyUnavailable(f"environment variable {self._variable} is not set")
        return _decode(value, self._variable)

    def describe(self) -> str:
        return f"env:{self._variable}"


class FileRootKeyProvider:
    """The root key as base64 in a file readable only by its owner."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def load(self) -> KeyMaterial:
        try:
            mode = self._path.stat().st_mode
            text = self._path.read_text(encoding="ascii")
        except OSError as exc:
            raise RootKeyUnavailable(f"{self._path}: cannot read root key file") from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise RootKeyUnavailable(f"{self._path}: root key file must be readable by owner only")
        lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
        if len(lines) != 1:
            raise RootKeyUnavailable(f"{self._path}: expected one base64 line")
        return _decode(lines[0], str(self._path))

    def describe(self) -> str:
        return f"file:{self._path}"


class DevRootKeyProvider(FileRootKeyProvider):
    """WARNING: development only. Generates a root key on first use and keeps it, in the
    clear, inside the data directory it protects. Use FileRootKeyProvider with a key kept
    elsewhere, or EnvRootKeyProvider, in production."""

    def load(self) -> KeyMaterial:
        if not self._path.exists():
            self._path.parent.mkdir(parents=True, exist_ok=True)
            key = base64.b64encode(os.urandom(AES_256_KEY_BYTES)).decode("ascii")
            fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(DEV_ROOT_KEY_HEADER + key + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        return super().load()

    def describe(self) -> str:
        return f"dev-file:{self._path} (DEVELOPMENT ONLY)"
