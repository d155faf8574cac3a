"""Each built-in alarm fires from real boto3 traffic that makes its pattern, and stays silent
for normal traffic by the same principals.

One server for the module, configured in a TOML file: low thresholds, business hours per
tenant (``cust-day``: all day; ``cust-night``: one hour six hours from now, so a read is
always outside them), and a webhook pointing at an HTTP receiver in this process. Every
alarm is checked where it goes: the webhook, the audit trail (LookupEvents), the server
log and ``/metrics``.

Silence is checked through the once-per-window rule: each principal first makes normal
traffic, then the pattern; exactly one alarm of the rule must arrive for it, set off by
the pattern's call. Had the normal traffic set one off, the pattern's call would have been
deduplicated away and the one alarm would name a normal call.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from tests.support.principals import ACCOUNT, Caller, allow, user
from tests.support.server import RunningServer, start_server

pytestmark = pytest.mark.contract

TENANTS = ("cust-a", "cust-b", "cust-c", "cust-d", "cust-day", "cust-night")
CANARY = "CANARY-alarm-value-{}-7c1e"


def secret_name(tenant: str) -> str:
    return f"/customer/{tenant}/db-password"


class Receiver:
    """The webhook's other end: collects every alarm POSTed to it."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.raw: list[bytes] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._lock:
                    receiver.raw.append(body)
                    receiver.payloads.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/alarms"

    def alarms(self, name: str, principal: str) -> list[dict[str, Any]]:
        with self._lock:
            return [
                p["record"]
                for p in self.payloads
                if p["alarm"] == name and p["record"]["userIdentity"].get("arn") == principal
            ]

    def wait(self, name: str, principal: str, count: int = 1) -> list[dict[str, Any]]:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            found = self.alarms(name, principal)
            if len(found) >= count:
                # A little longer, so that a wrongly repeated alarm would show up too.
                time.sleep(0.5)
                return self.alarms(name, principal)
            time.sleep(0.05)
        raise AssertionError(f"no {name} alarm for {principal} within 15 s")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Setup:
    server: RunningServer
    receiver: Receiver
    secret_arns: dict[str, str]
    shared_key: str
    tenant_key: str
    night_hours: str


def outside_hours_now() -> str:
    """One hour starting six hours from now (UTC): never the current time."""
    start = (datetime.now(UTC) + timedelta(hours=6)).hour
    end = "24:00" if start == 23 else f"{start + 1:02d}:00"
    return f"{start:02d}:00-{end}"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    receiver = Receiver()
    root_dir = tmp_path_factory.mktemp("alarms")
    config = root_dir / "strongroom.toml"
    night_hours = outside_hours_now()
    config.write_text(
        "alarm_failed_reads = 3\n"
        "alarm_tenants_touched = 3\n"
        f'alarm_webhook_url = "{receiver.url}"\n'
        "[alarm_tenant_overrides.cust-day]\n"
        'business_hours = "00:00-24:00"\n'
        'business_days = "Mon-Sun"\n'
        "[alarm_tenant_overrides.cust-night]\n"
        f'business_hours = "{night_hours}"\n'
        'business_days = "Mon-Sun"\n'
    )
    server = start_server(root_dir / "data", "--config", str(config))
    try:
        sm = server.client("secretsmanager")
        arns = {
            t: sm.create_secret(Name=secret_name(t), SecretString=CANARY.format(t))["ARN"]
            for t in TENANTS
        }
        kms = server.client("kms")
        shared = kms.create_key(Description="shared")["KeyMetadata"]["Arn"]
        tenant_key = kms.create_key(
            Description="cust-a's", Tags=[{"TagKey": "customer", "TagValue": "cust-a"}]
        )["KeyMetadata"]["Arn"]
        yield Setup(server, receiver, arns, shared, tenant_key, night_hours)
    finally:
        server.stop()
        receiver.close()


def request_id(call: Callable[[], Any]) -> str:
    """The request id of a call, whether it succeeded or failed."""
    try:
        response = call()
    except ClientError as error:
        return str(error.response["ResponseMetadata"]["RequestId"])
    return str(response["ResponseMetadata"]["RequestId"])


def failing(call: Callable[[], Any], code: str) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    assert response["Error"]["Code"] == code
    return str(response["ResponseMetadata"]["RequestId"])


def readers(setup: Setup, name: str, tags: dict[str, str] | None = None) -> Caller:
    """A user allowed to read every secret (over-broad on purpose: the guard still holds)."""
    return user(
        setup.server,
        name,
        policies={
            "read": allow(
                [
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:DescribeSecret",
                    "secretsmanager:ListSecrets",
                ]
            )
        },
        user_tags=tags,
    )


def only_alarm(setup: Setup, name: str, principal: str, trigger: str) -> dict[str, Any]:
    """The one alarm of ``name`` for ``principal``; it must be set off by ``trigger``."""
    found = setup.receiver.wait(name, principal)
    assert len(found) == 1, [a["requestParameters"]["triggeringRequestId"] for a in found]
    (alarm,) = found
    assert alarm["eventType"] == "StrongroomAlarm"
    assert alarm["eventSource"] == "strongroom.audit"
    assert alarm["eventName"] == name
    evidence = alarm["requestParameters"]
    assert evidence["principal"] == principal
    assert evidence["triggeringRequestId"] == trigger
    return alarm


def in_trail(setup: Setup, name: str, principal: str) -> list[dict[str, Any]]:
    """The alarm events of ``name`` for ``principal`` in the audit trail (LookupEvents)."""
    trail = setup.server.client("cloudtrail")
    deadline = time.monotonic() + 15
    while True:
        events = trail.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}]
        )["Events"]
        records = [json.loads(e["CloudTrailEvent"]) for e in events]
        mine = [r for r in records if r["userIdentity"].get("arn") == principal]
        if mine or time.monotonic() > deadline:
            return mine
        time.sleep(0.1)


def alarm_count(setup: Setup, name: str) -> float:
    with urllib.request.urlopen(f"{setup.server.endpoint}/metrics", timeout=5) as response:  # noqa: S310
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "strongroom_alarms_total" and sample.labels.get("alarm") == name:
                return float(sample.value)
    return 0.0


def check_everywhere(setup: Setup, alarm: dict[str, Any]) -> None:
    """The alarm is also in the trail, the log (WARNING) and the metrics."""
    name = alarm["eventName"]
    principal = alarm["userIdentity"]["arn"]
    (stored,) = in_trail(setup, name, principal)
    assert stored["eventID"] == alarm["eventID"]
    assert stored["requestParameters"] == alarm["requestParameters"]
    assert f"WARNING strongroom.audit.alarms alarm {name} principal={principal}" in (
        setup.server.log()
    )
    assert alarm_count(setup, name) >= 1


# -- the rules ---------------------------------------------------------------------------


def test_failed_read_burst(setup: Setup) -> None:
    burst = readers(setup, "burst", {"customer": "cust-a"})
    sm = burst.client("secretsmanager")
    mine = secret_name("cust-a")
    # Normal: many good reads and three failed ones (the threshold is "more than 3").
    for _ in range(15):
        assert sm.get_secret_value(SecretId=mine)["SecretString"] == CANARY.format("cust-a")

    def read_missing(i: int) -> str:
        return failing(
            lambda: sm.get_secret_value(SecretId=f"/customer/cust-a/missing-{i}"),
            "ResourceNotFoundException",
        )

    for i in range(3):
        read_missing(i)
    # The pattern: a fourth failure within the minute, then more (no second alarm).
    trigger = read_missing(3)
    for i in range(4, 8):
        read_missing(i)
    alarm = only_alarm(setup, "FailedReadBurst", burst.arn, trigger)
    evidence = alarm["requestParameters"]
    assert evidence["failedReads"] == 4
    assert evidence["threshold"] == 3
    assert evidence["windowSeconds"] == 60.0
    assert evidence["errorCodes"] == {"ResourceNotFoundException": 4}
    check_everywhere(setup, alarm)


def test_many_tenants_touched(setup: Setup) -> None:
    roamer = readers(setup, "roamer")
    sm = roamer.client("secretsmanager")
    # Normal: the same three tenants, over and over.
    for _ in range(5):
        for tenant in ("cust-a", "cust-b", "cust-c"):
            sm.get_secret_value(SecretId=secret_name(tenant))
    trigger = request_id(lambda: sm.get_secret_value(SecretId=secret_name("cust-d")))
    sm.get_secret_value(SecretId=secret_name("cust-day"))  # a fifth: still one alarm
    alarm = only_alarm(setup, "ManyTenantsTouched", roamer.arn, trigger)
    evidence = alarm["requestParameters"]
    assert evidence["tenants"] == ["cust-a", "cust-b", "cust-c", "cust-d"]
    assert evidence["tenantCount"] == 4
    assert evidence["threshold"] == 3
    check_everywhere(setup, alarm)


def test_outside_hours(setup: Setup) -> None:
    owl = readers(setup, "nightowl")
    sm = owl.client("secretsmanager")
    # Normal: reads of a tenant in its hours, and no secret material out of them.
    for _ in range(5):
        sm.get_secret_value(SecretId=secret_name("cust-day"))
    sm.describe_secret(SecretId=secret_name("cust-night"))
    sm.list_secrets()
    trigger = request_id(lambda: sm.get_secret_value(SecretId=secret_name("cust-night")))
    sm.get_secret_value(SecretId=secret_name("cust-night"))  # within the repeat window
    alarm = only_alarm(setup, "OutsideHours", owl.arn, trigger)
    evidence = alarm["requestParameters"]
    assert evidence["businessHours"] == f"{setup.night_hours} Mon,Tue,Wed,Thu,Fri,Sat,Sun UTC"
    assert evidence["operation"] == "GetSecretValue"
    assert setup.secret_arns["cust-night"] in evidence["resources"]
    assert evidence["tenants"] == ["cust-night"]
    check_everywhere(setup, alarm)


def test_decrypt_without_context_on_a_shared_key(setup: Setup) -> None:
    cryptic = user(setup.server, "cryptic", policies={"kms": allow(["kms:*"])})
    kms = cryptic.client("kms")
    context = {"purpose": "test"}
    # Normal: the shared key with a context, the tenant's key without one.
    with_context = kms.encrypt(KeyId=setup.shared_key, Plaintext=b"abc", EncryptionContext=context)
    for _ in range(3):
        kms.decrypt(CiphertextBlob=with_context["CiphertextBlob"], EncryptionContext=context)
    kms.generate_data_key(KeyId=setup.shared_key, KeySpec="AES_256", EncryptionContext=context)
    tenant_blob = kms.encrypt(KeyId=setup.tenant_key, Plaintext=b"abc")["CiphertextBlob"]
    kms.decrypt(CiphertextBlob=tenant_blob)
    kms.generate_data_key(KeyId=setup.tenant_key, KeySpec="AES_256")
    bare = kms.encrypt(KeyId=setup.shared_key, Plaintext=b"abc")  # Encrypt is not the rule
    # The pattern: Decrypt on the shared key with no context.
    trigger = request_id(lambda: kms.decrypt(CiphertextBlob=bare["CiphertextBlob"]))
    kms.generate_data_key(KeyId=setup.shared_key, KeySpec="AES_256")  # repeat window
    alarm = only_alarm(setup, "DecryptWithoutContext", cryptic.arn, trigger)
    evidence = alarm["requestParameters"]
    assert evidence["keyArn"] == setup.shared_key
    assert evidence["operation"] == "Decrypt"
    assert evidence["encryptionContext"] == "absent"
    check_everywhere(setup, alarm)


def test_tenant_guard_refusal_fires_every_time(setup: Setup) -> None:
    guarded = readers(setup, "guarded", {"customer": "cust-a"})
    sm = guarded.client("secretsmanager")
    # Normal: its own tenant's secrets.
    for _ in range(5):
        sm.get_secret_value(SecretId=secret_name("cust-a"))
    assert setup.receiver.alarms("TenantGuardRefusal", guarded.arn) == []
    triggers = [
        failing(
            lambda: sm.get_secret_value(SecretId=setup.secret_arns["cust-b"]),
            "AccessDeniedException",
        )
        for _ in range(2)
    ]
    found = setup.receiver.wait("TenantGuardRefusal", guarded.arn, count=2)
    assert [a["requestParameters"]["triggeringRequestId"] for a in found] == triggers
    assert found[0]["requestParameters"]["resources"] == [setup.secret_arns["cust-b"]]
    assert found[0]["requestParameters"]["errorCode"] == "AccessDeniedException"
    stored = in_trail(setup, "TenantGuardRefusal", guarded.arn)
    deadline = time.monotonic() + 10
    while len(stored) < 2 and time.monotonic() < deadline:
        stored = in_trail(setup, "TenantGuardRefusal", guarded.arn)
    assert len(stored) == 2
    assert alarm_count(setup, "TenantGuardRefusal") >= 2


def test_no_secret_material_in_alarms_logs_or_metrics(setup: Setup) -> None:
    # After the other tests (same module server): every canary value was read many times.
    sm = setup.server.client("secretsmanager")
    for tenant in TENANTS:
        sm.get_secret_value(SecretId=secret_name(tenant))
    kms = setup.server.client("kms")
    data_key = kms.generate_data_key(KeyId=setup.shared_key, KeySpec="AES_256")["Plaintext"]
    with urllib.request.urlopen(f"{setup.server.endpoint}/metrics", timeout=5) as response:  # noqa: S310
        metrics_text = response.read()
    # Root touched six tenants while setting up: its ManyTenantsTouched alarm at least.
    setup.receiver.wait("ManyTenantsTouched", f"arn:aws:iam::{ACCOUNT}:root")
    webhook = b"".join(setup.receiver.raw)
    log = setup.server.log().encode()
    encoded_key = base64.b64encode(data_key)
    for place in (webhook, log, metrics_text):
        for tenant in TENANTS:
            assert CANARY.format(tenant).encode() not in place
        assert encoded_key not in place
        assert data_key not in place


def test_alarm_settings_reach_the_server(tmp_path: Path) -> None:
    """A bad alarm setting stops the server before it serves anything."""
    config = tmp_path / "bad.toml"
    config.write_text('[alarm_tenant_overrides.acme]\nbusiness_hours = "all day"\n')
    with pytest.raises(RuntimeError, match="business hours"):
        start_server(tmp_path / "data", "--config", str(config))
