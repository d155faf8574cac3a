"""Kill -9 under load: every answer a client received has its event after the restart, and
the chain verifies. The default run loops a few times; ``-m slow`` loops at least 50."""

from __future__ import annotations

import random
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tests.support.audit_records import request_ids, verify_chain
from tests.support.server import (
    ROOT_ACCESS_KEY_ID,
    ROOT_SECRET_ACCESS_KEY,
    RunningServer,
    start_server,
)

pytestmark = [pytest.mark.contract, pytest.mark.exclusive]

SECRETS = 8
READERS = 4


@dataclass
class Answers:
    """Request ids of the responses the clients got (successes and AWS errors alike)."""

    ids: set[str] = field(default_factory=set)
    writes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, request_id: str, write: bool) -> None:
        with self.lock:
            self.ids.add(request_id)
            self.writes += write


def client(server: RunningServer) -> object:
    return boto3.client(
        "secretsmanager",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=ROOT_ACCESS_KEY_ID,
        aws_secret_access_key=ROOT_SECRET_ACCESS_KEY,
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5),
    )


def hammer(server: RunningServer, names: list[str], answers: Answers, seed: int) -> None:
    """GetSecretValue, with a PutSecretValue now and then, until the server is gone."""
    sm = client(server)
    chooser = random.Random(seed)
    while True:
        name = chooser.choice(names)
        write = chooser.random() < 0.1
        try:
            if write:
                response = sm.put_secret_value(  # type: ignore[attr-defined]
                    SecretId=name, SecretString=f"v{chooser.random()}"
                )
            else:
                response = sm.get_secret_value(SecretId=name)  # type: ignore[attr-defined]
        except ClientError as error:
            answers.add(error.response["ResponseMetadata"]["RequestId"], write)
            continue
        except BotoCoreError:
            return  # connection refused or reset: the server was killed
        answers.add(response["ResponseMetadata"]["RequestId"], write)


def crash_and_check(data_dir: Path, runs: int, seed: int) -> None:
    chooser = random.Random(seed)
    names = [f"crash/secret-{i}" for i in range(SECRETS)]
    total = 0
    for run in range(runs):
        server = start_server(data_dir)
        try:
            if run == 0:
                sm = client(server)
                for name in names:
                    sm.create_secret(Name=name, SecretString="initial")  # type: ignore[attr-defined]
            answers = Answers()
            threads = [
                threading.Thread(
                    target=hammer, args=(server, names, answers, seed + run * READERS + i)
                )
                for i in range(READERS)
            ]
            for thread in threads:
                thread.start()
            time.sleep(chooser.uniform(0.2, 1.2))
        finally:
            server.stop(signal.SIGKILL)
        for thread in threads:
            thread.join(30)
        assert answers.ids, f"run {run}: no answer before the kill"
        # Restart (recovery runs as the server opens the database), then look.
        restarted = start_server(data_dir)
        try:
            missing = answers.ids - request_ids(restarted)
            assert not missing, f"run {run}: {len(missing)} answered calls have no event"
        finally:
            restarted.stop()
        result = verify_chain(data_dir)
        assert result.returncode == 0, f"run {run}: {result.stdout}{result.stderr}"
        total += len(answers.ids)
    assert total >= runs


def test_every_answered_call_survives_a_kill(tmp_path: Path) -> None:
    crash_and_check(tmp_path / "data", runs=3, seed=5)


@pytest.mark.slow
def test_every_answered_call_survives_fifty_kills(tmp_path: Path) -> None:
    crash_and_check(tmp_path / "data", runs=50, seed=1105)
