"""The dev server answers boto3 end to end: create, read, list."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.contract


def test_create_then_get_round_trips(sm: Any, unique: str) -> None:
    name = f"/customer/cust-{unique}/db-password"
    created = sm.create_secret(Name=name, SecretString="s3cr3t")
    got = sm.get_secret_value(SecretId=name)
    assert got["SecretString"] == "s3cr3t"
    assert got["ARN"] == created["ARN"]
    assert got["VersionStages"] == ["AWSCURRENT"]
