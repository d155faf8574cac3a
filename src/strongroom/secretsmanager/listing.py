"""ListSecrets semantics: filter matching, sorting and opaque pagination tokens."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from strongroom.errors import InvalidNextTokenException, InvalidParameterException
from strongroom.secretsmanager.ports import SecretRecord
from strongroom.secretsmanager.shapes import Filter

_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+")
MAX_FILTER_VALUES = 10


def _prefix(value: str, candidates: Iterable[str], *, case_sensitive: bool) -> bool:
    if not case_sensitive:
        value = value.lower()
        return any(c.lower().startswith(value) for c in candidates)
    return any(c.startswith(value) for c in candidates)


def _attributes(secret: SecretRecord, key: str) -> tuple[list[str], bool]:
    """The attribute values a filter key looks at, and whether matching is case-sensitive."""
    if key == "name":
        return [secret.name], True
    if key == "description":
        return [secret.description or ""], False
    if key == "tag-key":
        return [k for k, _ in secret.tags], True
    if key == "tag-value":
        return [v for _, v in secret.tags], True
    if key == "primary-region":
        return [secret.region], True
    if key == "owning-service":
        return [], True
    raise InvalidParameterException(f"Invalid filter key: {key}")


def _matches_all(secret: SecretRecord, value: str) -> bool:
    """The "all" key: every word of the value prefixes a word of some attribute, any case."""
    attributes = [secret.name, secret.description or "", secret.region]
    attributes += [k for k, _ in secret.tags] + [v for _, v in secret.tags]
    words = [w for a in attributes for w in [a, *_WORD_SPLIT.split(a)] if w]
    return all(_prefix(word, words, case_sensitive=False) for word in value.split())


def _matches_value(secret: SecretRecord, key: str, value: str) -> bool:
    if key == "all":
        return _matches_all(secret, value)
    candidates, case_sensitive = _attributes(secret, key)
    return _prefix(value, candidates, case_sensitive=case_sensitive)


def matches(secret: SecretRecord, filters: Sequence[Filter]) -> bool:
    """Filters AND together; a filter's values OR together; "!value" must not match."""
    for item in filters:
        key = item.key or ""
        values = item.values or ()
        positives = [v for v in values if not v.startswith("!")]
        negatives = [v[1:] for v in values if v.startswith("!")]
        if positives and not any(_matches_value(secret, key, v) for v in positives):
            return False
        if any(_matches_value(secret, key, v) for v in negatives):
            return False
    return True


def validate_filters(filters: Sequence[Filter]) -> None:
    for item in filters:
        if item.key is None:
            raise InvalidParameterException("Every filter needs a Key.")
        if item.key != "all" and item.key not in {
            "name",
            "description",
            "tag-key",
            "tag-value",
            "primary-region",
            "owning-service",
        }:
            raise InvalidParameterException(f"Invalid filter key: {item.key}")
        if not item.values:
            raise InvalidParameterException(
                f"Invalid filter values for key {item.key}: at least one value is required."
            )
        if len(item.values) > MAX_FILTER_VALUES:  # values checked non-empty above
            raise InvalidParameterException(
                f"A filter can have at most {MAX_FILTER_VALUES} values."
            )


def _sort_key(sort_by: str) -> Callable[[SecretRecord], tuple[object, ...]]:
    def when(value: datetime | None) -> float:
        return value.timestamp() if value is not None else float("-inf")

    if sort_by == "name":
        return lambda s: (s.name, s.id)
    if sort_by == "last-changed-date":
        return lambda s: (when(s.last_changed_at), s.id)
    if sort_by == "last-accessed-date":
        return lambda s: (when(s.last_accessed_at), s.id)
    return lambda s: (when(s.created_at), s.id)


def sort_secrets(
    secrets: list[SecretRecord], sort_by: str | None, sort_order: str | None
) -> list[SecretRecord]:
    return sorted(
        secrets,
        key=_sort_key(sort_by or "created-date"),
        reverse=(sort_order or "desc") == "desc",
    )


def query_fingerprint(*parts: object) -> str:
    """Ties a token to the query that produced it, so it cannot be replayed on another."""
    digest = hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def encode_token(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "q": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_token(token: str | None, fingerprint: str) -> int:
    if token is None:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        offset = data["o"]
        ok = isinstance(offset, int) and offset >= 0 and data["q"] == fingerprint
    except (ValueError, KeyError, TypeError, UnicodeEncodeError, binascii.Error):
        ok = False
    if not ok:
        raise InvalidNextTokenException("The NextToken value is not valid.")
    return int(offset)
