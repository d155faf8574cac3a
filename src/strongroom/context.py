"""The CallContext: who is calling, in which account and region, and under which request id."""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.ids import AccountId, Partition, Region


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. Today only the account root exists (see the identity issue)."""

    arn: str
    principal_id: str
    access_key_id: str
    kind: str = "Root"


@dataclass(frozen=True, slots=True)
class CallContext:
    """Everything a service needs to know about the call besides its parameters."""

    principal: Principal
    account_id: AccountId
    region: Region
    partition: Partition
    request_id: str
    source_ip: str
    user_agent: str
