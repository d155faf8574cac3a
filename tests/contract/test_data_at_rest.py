"""No secret value is ever stored in the clear: every file of the data directory is scanned."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest

from tests.support.server import start_server

pytestmark = pytest.mark.contract


def _forms(value: bytes) -> list[bytes]:
    """The value as it could appear on disk: raw, UTF-16, base64, hex."""
    return [
        value,
        value.decode().encode("utf-16-le"),
        base64.b64encode(value),
        value.hex().encode(),
    ]


def test_canary_values_never_reach_the_disk_in_the_clear(tmp_path: Path) -> None:
    server = start_server(tmp_path / "canary-data")
    canaries: list[bytes] = []
    try:
        sm = server.client("secretsmanager")
        for i in range(40):
            string_value = f"CANARY-STRING-{secrets.token_hex(16)}"
            binary_value = f"CANARY-BINARY-{secrets.token_hex(16)}".encode()
            put_value = f"CANARY-PUT-{secrets.token_hex(16)}"
            update_value = f"CANARY-UPDATE-{secrets.token_hex(16)}"
            canaries += [
                string_value.encode(),
                binary_value,
                put_value.encode(),
                update_value.encode(),
            ]
            sm.create_secret(Name=f"canary/{i}/s", SecretString=string_value)
            sm.create_secret(Name=f"canary/{i}/b", SecretBinary=binary_value)
            sm.put_secret_value(SecretId=f"canary/{i}/s", SecretString=put_value)
            sm.update_secret(SecretId=f"canary/{i}/b", SecretString=update_value)
            assert sm.get_secret_value(SecretId=f"canary/{i}/s")["SecretString"] == put_value
        # Deleted values must not be left behind in the clear either.
        sm.delete_secret(SecretId="canary/0/s", ForceDeleteWithoutRecovery=True)
        files = [p for p in server.data_dir.rglob("*") if p.is_file()]
        # Scanned while the server runs, so the WAL files are still there.
        assert any(p.name.endswith("-wal") for p in files), [p.name for p in files]
        blobs = {p: p.read_bytes() for p in files}
        log = server.log().encode()
    finally:
        server.stop()
    blobs.update({p: p.read_bytes() for p in server.data_dir.rglob("*") if p.is_file()})
    for path, content in blobs.items():
        for canary in canaries:
            for form in _forms(canary):
                assert form not in content, f"{canary!r} found in {path.name}"
    for canary in canaries:
        assert canary not in log
