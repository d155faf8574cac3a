"""The Strongroom admin API's botocore service model, and how to make boto3 load it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import botocore.session

SERVICE_NAME = "strongroom"
# botocore looks models up as <search path>/<service>/<api version>/service-2.json.
DATA_PATH = Path(__file__).resolve().parent.parent / "data"
API_VERSION = "2026-11-01"
MODEL_PATH = DATA_PATH / SERVICE_NAME / API_VERSION / "service-2.json"


def register(session: Any = None) -> None:
    """Teach a boto3 or botocore session (default: boto3's default session) the
    ``strongroom`` service, so ``session.client("strongroom", endpoint_url=…)`` works.
    The same can be had without code by adding ``DATA_PATH`` to ``AWS_DATA_PATH``."""
    if session is None:
        import boto3

        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
    # A boto3.Session wraps a botocore one.
    core = getattr(session, "_session", session)
    if not isinstance(core, botocore.session.Session):
        raise TypeError("register() takes a boto3.Session or a botocore Session")
    loader = core.get_component("data_loader")
    if str(DATA_PATH) not in loader.search_paths:
        loader.search_paths.append(str(DATA_PATH))
