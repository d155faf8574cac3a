"""IAM policy parsing and evaluation: pure, no I/O, no clock."""

from strongroom.policy.document import (
    Condition,
    PolicyDocument,
    PolicyKind,
    PrincipalMap,
    Statement,
)
from strongroom.policy.errors import PolicyDocumentError
from strongroom.policy.evaluation import (
    IDENTITY_POLICY,
    PERMISSIONS_BOUNDARY,
    RESOURCE_POLICY,
    SESSION_POLICY,
    Decision,
    MatchedStatement,
    NamedPolicy,
    evaluate,
    principal_match,
    statement_matches,
)
from strongroom.policy.parser import parse_policy
from strongroom.policy.public import public_statements
from strongroom.policy.request import PrincipalRef, RequestContext

__all__ = [
    "IDENTITY_POLICY",
    "PERMISSIONS_BOUNDARY",
    "RESOURCE_POLICY",
    "SESSION_POLICY",
    "Condition",
    "Decision",
    "MatchedStatement",
    "NamedPolicy",
    "PolicyDocument",
    "PolicyDocumentError",
    "PolicyKind",
    "PrincipalMap",
    "PrincipalRef",
    "RequestContext",
    "Statement",
    "evaluate",
    "parse_policy",
    "principal_match",
    "public_statements",
    "statement_matches",
]
