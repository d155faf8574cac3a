"""The reference article's Secrets Manager code and aws-secretsmanager-caching work unchanged."""

# Source: /work/shared/reference/article-multi-tenant-secret-storage.txt, "Designing
# Multi-Tenant Secret Storage: Isolating Secrets Across Customer Accounts". Its client code is
# copied between "# fmt: off" / "# fmt: on" markers so the formatter keeps it as published.
# The only thing pointed at Strongroom is the environment: AWS_ENDPOINT_URL plus the root test
# credentials, set by the `article_env` fixture; the article's `boto3.client('secretsmanager')`
# line itself is unchanged.
#
# Every adaptation, numbered; the copied code marks each with "# ADAPTATION An":
#   A1. Each snippet in the article starts with its own imports; they are merged at the top.
#       `from functools import lru_cache` is unused in the article too (kept, noqa F401).
#   A2. The article creates `secrets_client = boto3.client('secretsmanager')` at import time,
#       before any test server exists. Here the module-level name starts as None and the
#       `article_env` fixture runs that same line, after setting the environment, and assigns
#       the module global. The article's functions read the global when called, unchanged.
#   A3. The article defines `get_db_password` twice (direct, then cached); the second is
#       renamed `get_db_password_cached`.
#   A4. `raise Exception(...)` inside `except` is kept as published (noqa B904).
#   A5. Trailing whitespace on the article's blank lines is dropped (W293).
#   A6. Usage functions: `connect_to_customer_database` returns the connection string instead
#       of `psycopg2.connect(...)` (no database here, psycopg2 is not a dependency);
#       `send_email_via_sendgrid` returns the key where the article has "# Use api_key...".
#       `charge_customer_via_stripe` is not copied: its fixed name
#       '/shared/vendor/stripe/api-key' would collide on the shared session server, so the
#       test calls `get_shared_secret` (which is all that function does) with a unique name.
#   A7. Customer ids are `cust-<unique>` rather than the article's `cust-12345`, so tests
#       sharing the session server never collide.
# Not copied: the Lambda extension snippet (needs the Lambda runtime's localhost:2773 agent),
# the fetcher service (needs a web framework and a permission database) and the rotation
# Lambda (Secrets Manager rotation is not built yet); none of them is client code alone.
#
# The article says "Secrets Manager doesn't have a batch get operation". That was true when
# it was written; AWS added BatchGetSecretValue in November 2023, and Strongroom serves it, so
# the batch test also checks the article's thread pool and the real operation agree.
#
# Two properties of the article's MultiTenantSecretManager.get_secret are bugs in the article,
# not in the server, and would behave the same against AWS; the tests pin them so a reader
# copying the class knows:
#   * its `finally:` caches the raw SecretString, so the first call returns parsed JSON (a
#     dict) and a cache hit returns the unparsed string;
#   * for a missing secret the `finally:` reads `secret_value` before assignment, so the
#     caller gets UnboundLocalError, chained to the article's "Secret not found" Exception,
#     chained to the ResourceNotFoundException the server sent.

from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import time
from functools import lru_cache  # noqa: F401  (A1: unused in the article too)
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_secretsmanager_caching import (
    InjectKeywordedSecretString,
    InjectSecretString,
    SecretCacheConfig,
)
from aws_secretsmanager_caching import (
    SecretCache as LibrarySecretCache,
)
from aws_secretsmanager_caching.cache.items import SecretCacheObject

from tests.support.server import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, RunningServer

pytestmark = pytest.mark.contract

secrets_client: Any = None  # ADAPTATION A2: assigned by the article_env fixture


@pytest.fixture(autouse=True)
def article_env(server: RunningServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Point the default AWS configuration at the test server, then run the article's line."""
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ROOT_ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ROOT_SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    # boto3's default session caches credentials once resolved; start a fresh one so it reads
    # the environment above (monkeypatch restores the old session afterwards).
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    # fmt: off
    secrets_client = boto3.client('secretsmanager')
    # fmt: on
    monkeypatch.setitem(globals(), "secrets_client", secrets_client)


# ---------------------------------------------------------------------------------------------
# The article's code. Direct Retrieval Pattern:
# fmt: off

def get_db_password(customer_id):
    secret_name = f"/customer/{customer_id}/db-password"
    try:
        response = secrets_client.get_secret_value(SecretId=secret_name)
        return response['SecretString']
    except secrets_client.exceptions.ResourceNotFoundException:
        raise Exception(f"Secret not found: {secret_name}")  # noqa: B904  (A4)

# Caching Pattern:

class SecretCache:
    def __init__(self, ttl_seconds=600):
        self.cache = {}
        self.ttl = ttl_seconds

    def get(self, secret_name):
        now = time.time()
        if secret_name in self.cache:
            value, timestamp = self.cache[secret_name]
            if now - timestamp < self.ttl:
                return value

        # Fetch from Secrets Manager
        response = secrets_client.get_secret_value(SecretId=secret_name)
        secret_value = response['SecretString']
        self.cache[secret_name] = (secret_value, now)
        return secret_value

cache = SecretCache(ttl_seconds=600)

def get_db_password_cached(customer_id):  # ADAPTATION A3: the article reuses get_db_password
    secret_name = f"/customer/{customer_id}/db-password"
    return cache.get(secret_name)

# Batch Retrieval Pattern:

def get_customer_secrets(customer_id, secret_types):
    secret_names = [f"/customer/{customer_id}/{s}" for s in secret_types]

    with concurrent.futures.ThreadPoolExecutor(max_workers=5) as executor:
        futures = {
            executor.submit(
                secrets_client.get_secret_value,
                SecretId=name
            ): name for name in secret_names
        }

        secrets = {}
        for future in concurrent.futures.as_completed(futures):
            response = future.result()
            secrets[futures[future]] = response['SecretString']

    return secrets

# A Complete Example: Building a Multi-Tenant Secrets Wrapper:

logger = logging.getLogger(__name__)
# ADAPTATION A2: the article's `secrets_client = boto3.client('secretsmanager')` stood here.

class MultiTenantSecretManager:
    def __init__(self, cache_ttl_seconds=600, max_cache_size=1000):
        self.cache_ttl = cache_ttl_seconds
        self.cache = {}
        self.max_cache_size = max_cache_size

    def get_secret(self, customer_id, secret_type):
        """
        Retrieve a secret for a specific customer.

        Args:
            customer_id: The unique customer identifier
            secret_type: The type of secret (e.g., 'db-password', 'api-key-stripe')

        Returns:
            The secret value as a string
        """
        secret_name = f"/customer/{customer_id}/{secret_type}"

        # Check cache first
        cached_value = self._get_from_cache(secret_name)
        if cached_value is not None:
            logger.info(f"Cache hit for {secret_name}")
            return cached_value

        # Fetch from Secrets Manager
        logger.info(f"Fetching secret {secret_name} from Secrets Manager")
        try:
            response = secrets_client.get_secret_value(SecretId=secret_name)
            secret_value = response['SecretString']

            # Try to parse as JSON (some secrets might be JSON objects)
            try:
                return json.loads(secret_value)
            except json.JSONDecodeError:
                # If not JSON, return as string
                return secret_value

        except secrets_client.exceptions.ResourceNotFoundException:
            logger.error(f"Secret not found: {secret_name}")
            raise Exception(f"Secret not found: {secret_name}")  # noqa: B904  (A4)
        except Exception as e:
            logger.error(f"Error retrieving secret {secret_name}: {e}")
            raise
        finally:
            # Cache the result
            self._set_in_cache(secret_name, secret_value)

    def get_shared_secret(self, secret_name):
        """
        Retrieve a shared secret (not scoped to a specific customer).

        Args:
            secret_name: The full secret name (e.g., '/shared/vendor/stripe/api-key')

        Returns:
            The secret value
        """
        cached_value = self._get_from_cache(secret_name)
        if cached_value is not None:
            return cached_value

        try:
            response = secrets_client.get_secret_value(SecretId=secret_name)
            secret_value = response['SecretString']
            self._set_in_cache(secret_name, secret_value)
            return secret_value
        except Exception as e:
            logger.error(f"Error retrieving shared secret {secret_name}: {e}")
            raise

    def _get_from_cache(self, secret_name):
        now = time.time()
        if secret_name in self.cache:
            value, timestamp = self.cache[secret_name]
            if now - timestamp < self.cache_ttl:
                return value
            else:
                del self.cache[secret_name]
        return None

    def _set_in_cache(self, secret_name, value):
        if len(self.cache) >= self.max_cache_size:
            # Simple eviction: remove oldest entry
            oldest_key = min(self.cache, key=lambda k: self.cache[k][1])
            del self.cache[oldest_key]

        self.cache[secret_name] = (value, time.time())

# Usage in your application
secret_manager = MultiTenantSecretManager(cache_ttl_seconds=600)

def connect_to_customer_database(customer_id):
    password = secret_manager.get_secret(customer_id, 'db-password')
    connection_string = f"postgresql://user:{password}@db.example.com/customer_db"
    return connection_string  # ADAPTATION A6: the article returns psycopg2.connect(...)

def send_email_via_sendgrid(customer_id, to, subject, body):
    api_key = secret_manager.get_secret(customer_id, 'api-key-sendgrid')
    # Use api_key to send email...
    return api_key  # ADAPTATION A6

# fmt: on
# End of the article's code.
# ---------------------------------------------------------------------------------------------

# The article's JSON secret example, "db-credentials".
DB_CREDENTIALS = {
    "username": "db_user_cust_12345",
    "password": "super_secret_password_here",
    "host": "db.example.com",
    "port": 5432,
    "database": "customer_db_12345",
}


@pytest.fixture
def customer_id(unique: str) -> str:
    return f"cust-{unique}"  # ADAPTATION A7


def create(sm: Any, name: str, value: str) -> str:
    return str(sm.create_secret(Name=name, SecretString=value)["VersionId"])


# -- Direct Retrieval Pattern -----------------------------------------------------------------


def test_direct_retrieval_returns_the_customers_password(sm: Any, customer_id: str) -> None:
    create(sm, f"/customer/{customer_id}/db-password", "direct-s3cr3t")
    assert get_db_password(customer_id) == "direct-s3cr3t"


def test_direct_retrieval_of_a_missing_secret_raises_the_articles_exception(
    customer_id: str,
) -> None:
    with pytest.raises(Exception, match=r"^Secret not found: /customer/") as raised:
        get_db_password(customer_id)
    # The article's except clause matched: the server's error is the modelled exception class.
    assert isinstance(raised.value.__context__, secrets_client.exceptions.ResourceNotFoundException)


# -- Caching Pattern --------------------------------------------------------------------------


def test_caching_pattern_serves_the_cached_value_until_the_ttl_expires(
    sm: Any, customer_id: str
) -> None:
    name = f"/customer/{customer_id}/db-password"
    create(sm, name, "before-rotation")
    assert get_db_password_cached(customer_id) == "before-rotation"

    sm.put_secret_value(SecretId=name, SecretString="after-rotation")
    # The article's stated tradeoff: within the TTL the application still sees the old value.
    assert get_db_password_cached(customer_id) == "before-rotation"
    # A cache whose TTL has passed (0 s) fetches again and sees the rotated value.
    assert SecretCache(ttl_seconds=0).get(name) == "after-rotation"


# -- Batch Retrieval Pattern ------------------------------------------------------------------


def test_batch_retrieval_with_a_thread_pool_matches_batch_get_secret_value(
    sm: Any, customer_id: str
) -> None:
    types = ["db-password", "api-key-stripe", "oauth-token-salesforce", "encryption-key"]
    expected = {}
    for secret_type in types:
        name = f"/customer/{customer_id}/{secret_type}"
        expected[name] = f"{secret_type}-for-{customer_id}"
        create(sm, name, expected[name])

    assert get_customer_secrets(customer_id, types) == expected

    batch = secrets_client.batch_get_secret_value(SecretIdList=list(expected))
    assert batch["Errors"] == []
    assert {v["Name"]: v["SecretString"] for v in batch["SecretValues"]} == expected


def test_batch_retrieval_surfaces_a_missing_secret(sm: Any, customer_id: str) -> None:
    create(sm, f"/customer/{customer_id}/db-password", "x")
    with pytest.raises(secrets_client.exceptions.ResourceNotFoundException):
        get_customer_secrets(customer_id, ["db-password", "never-created"])


# -- A Complete Example: MultiTenantSecretManager ---------------------------------------------


def test_wrapper_returns_a_plain_string_secret(sm: Any, customer_id: str) -> None:
    create(sm, f"/customer/{customer_id}/api-key-sendgrid", "SG.key-123")
    manager = MultiTenantSecretManager()
    assert manager.get_secret(customer_id, "api-key-sendgrid") == "SG.key-123"
    assert send_email_via_sendgrid(customer_id, "a@example.com", "hi", "body") == "SG.key-123"


def test_wrapper_parses_a_json_secret_then_a_cache_hit_returns_the_raw_string(
    sm: Any, customer_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"/customer/{customer_id}/db-credentials"
    create(sm, name, json.dumps(DB_CREDENTIALS))
    manager = MultiTenantSecretManager()
    caplog.set_level(logging.INFO, logger=__name__)

    first = manager.get_secret(customer_id, "db-credentials")
    assert first == DB_CREDENTIALS
    assert f"Fetching secret {name} from Secrets Manager" in caplog.messages

    # The article's finally: caches the raw SecretString, so a cache hit is the JSON text.
    second = manager.get_secret(customer_id, "db-credentials")
    assert f"Cache hit for {name}" in caplog.messages
    assert isinstance(second, str)
    assert json.loads(second) == DB_CREDENTIALS


def test_wrapper_keeps_customers_apart(sm: Any, unique: str) -> None:
    alice, bob = f"cust-{unique}-a", f"cust-{unique}-b"
    create(sm, f"/customer/{alice}/db-password", "alice-password")
    create(sm, f"/customer/{bob}/db-password", "bob-password")
    manager = MultiTenantSecretManager()
    assert manager.get_secret(alice, "db-password") == "alice-password"
    assert manager.get_secret(bob, "db-password") == "bob-password"
    assert manager.get_secret(alice, "db-password") == "alice-password"  # from the cache


def test_wrapper_missing_secret_ends_in_the_articles_unbound_local_error(
    customer_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"/customer/{customer_id}/db-password"
    manager = MultiTenantSecretManager()
    with pytest.raises(UnboundLocalError) as raised:
        manager.get_secret(customer_id, "db-password")
    article_error = raised.value.__context__
    assert str(article_error) == f"Secret not found: {name}"
    assert isinstance(article_error, Exception)
    assert isinstance(
        article_error.__context__, secrets_client.exceptions.ResourceNotFoundException
    )
    assert f"Secret not found: {name}" in caplog.messages


def test_wrapper_shared_secret_is_fetched_once_and_cached(sm: Any, unique: str) -> None:
    name = f"/shared/vendor/stripe-{unique}/api-key"  # ADAPTATION A6
    create(sm, name, "sk_live_shared")
    manager = MultiTenantSecretManager(cache_ttl_seconds=600)
    assert manager.get_shared_secret(name) == "sk_live_shared"
    sm.put_secret_value(SecretId=name, SecretString="sk_live_rotated")
    assert manager.get_shared_secret(name) == "sk_live_shared"  # within the TTL
    assert MultiTenantSecretManager(cache_ttl_seconds=0).get_shared_secret(name) == (
        "sk_live_rotated"
    )


def test_wrapper_missing_shared_secret_raises_resource_not_found(
    unique: str, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"/shared/vendor/absent-{unique}/api-key"
    with pytest.raises(secrets_client.exceptions.ResourceNotFoundException):
        MultiTenantSecretManager().get_shared_secret(name)
    assert any(m.startswith(f"Error retrieving shared secret {name}:") for m in caplog.messages)


def test_usage_connect_to_customer_database_uses_the_password(sm: Any, customer_id: str) -> None:
    create(sm, f"/customer/{customer_id}/db-password", "pg-pass")
    assert connect_to_customer_database(customer_id) == (
        "postgresql://user:pg-pass@db.example.com/customer_db"
    )


# -- aws-secretsmanager-caching (AWS's own client-side cache) -----------------------------------


def test_caching_library_with_its_default_client_reads_a_secret(sm: Any, customer_id: str) -> None:
    name = f"/customer/{customer_id}/db-password"
    create(sm, name, "library-value")
    library_cache = LibrarySecretCache(config=SecretCacheConfig())  # builds its own client
    assert library_cache.get_secret_string(name) == "library-value"
    assert library_cache.get_secret_string(name, "AWSCURRENT") == "library-value"


def test_caching_library_sees_a_rotation_after_its_refresh_interval(
    sm: Any, customer_id: str
) -> None:
    name = f"/customer/{customer_id}/db-password"
    create(sm, name, "v1")
    # The library refreshes after a random 1-2 s (half to all of the interval).
    library_cache = LibrarySecretCache(config=SecretCacheConfig(secret_refresh_interval=2))
    assert library_cache.get_secret_string(name) == "v1"

    sm.put_secret_value(SecretId=name, SecretString="v2")
    assert library_cache.get_secret_string(name) == "v1"  # still cached
    time.sleep(2.2)
    assert library_cache.get_secret_string(name) == "v2"
    assert library_cache.get_secret_string(name, "AWSPREVIOUS") == "v1"


def test_caching_library_refresh_secret_now_picks_up_a_new_version(
    sm: Any, customer_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # refresh_secret_now sleeps a random 2.5-5 s jitter first; cut it to at most 1 ms.
    monkeypatch.setattr(SecretCacheObject, "FORCE_REFRESH_JITTER_SLEEP", 0)
    name = f"/customer/{customer_id}/api-key-stripe"
    create(sm, name, "old-key")
    library_cache = LibrarySecretCache(config=SecretCacheConfig(), client=secrets_client)
    assert library_cache.get_secret_string(name) == "old-key"

    new_version = sm.put_secret_value(SecretId=name, SecretString="new-key")["VersionId"]
    assert library_cache.get_secret_string(name) == "old-key"
    assert library_cache.refresh_secret_now(name) is True
    assert library_cache.get_secret_string(name) == "new-key"
    assert sm.describe_secret(SecretId=name)["VersionIdsToStages"][new_version] == ["AWSCURRENT"]


def test_caching_library_decorators_inject_values(sm: Any, customer_id: str) -> None:
    plain = f"/customer/{customer_id}/api-key-sendgrid"
    credentials = f"/customer/{customer_id}/db-credentials"
    create(sm, plain, "SG.injected")
    create(sm, credentials, json.dumps(DB_CREDENTIALS))
    library_cache = LibrarySecretCache(config=SecretCacheConfig(), client=secrets_client)

    @InjectSecretString(plain, library_cache)
    def with_plain(secret: str) -> str:
        return secret

    @InjectKeywordedSecretString(credentials, library_cache, user="username", pw="password")
    def with_keywords(user: str, pw: str) -> tuple[str, str]:
        return user, pw

    assert with_plain() == "SG.injected"
    assert with_keywords() == (DB_CREDENTIALS["username"], DB_CREDENTIALS["password"])
