"""Secret resource policies: parsing, the public-access check, ValidateResourcePolicy's verdict."""

from __future__ import annotations

from strongroom import policy
from strongroom.errors import (
    InvalidParameterException,
    MalformedPolicyDocumentException,
    PublicPolicyException,
)
from strongroom.secretsmanager.shapes import ValidationErrorsEntry

MAX_POLICY_BYTES = 20480
# A secret has at most one policy, named "default"; only that name can be put or deleted.
DEFAULT_POLICY_NAME = "default"
PUBLIC_POLICY = "This resource policy contains a statement that grants public access."
# ValidateResourcePolicy's checks (AWS runs a syntax check and a broad-access check).
SYNTAX_CHECK = "SYNTAX_CHECK"
PUBLIC_ACCESS_CHECK = "BLOCK_PUBLIC_POLICY_CHECK"


def check_policy_name(policy_name: str | None) -> None:
    """PutResourcePolicy and DeleteResourcePolicy accept only the ``default`` policy."""
    if policy_name is not None and policy_name != DEFAULT_POLICY_NAME:
        raise InvalidParameterException(
            f"You can only attach or delete the {DEFAULT_POLICY_NAME} resource policy."
        )


def parse(text: str) -> policy.PolicyDocument:
    """The policy, or MalformedPolicyDocumentException with the parser's message."""
    try:
        return policy.parse_policy(text, "resource", max_bytes=MAX_POLICY_BYTES)
    except policy.PolicyDocumentError as exc:
        raise MalformedPolicyDocumentException(str(exc)) from exc


def is_public(document: policy.PolicyDocument, account_id: str) -> bool:
    """Does any statement grant access to principals outside the account (or to anyone)?"""
    return bool(policy.public_statements(document, account_id))


def refuse_public(document: policy.PolicyDocument, account_id: str) -> None:
    if is_public(document, account_id):
        raise PublicPolicyException(PUBLIC_POLICY)


def validation_errors(text: str, account_id: str) -> tuple[ValidationErrorsEntry, ...]:
    """ValidateResourcePolicy's findings: a syntax error, or public access; none if it passes."""
    try:
        document = policy.parse_policy(text, "resource", max_bytes=MAX_POLICY_BYTES)
    except policy.PolicyDocumentError as exc:
        return (ValidationErrorsEntry(SYNTAX_CHECK, str(exc)),)
    if is_public(document, account_id):
        return (ValidationErrorsEntry(PUBLIC_ACCESS_CHECK, PUBLIC_POLICY),)
    return ()
