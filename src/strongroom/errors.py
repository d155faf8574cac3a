"""Errors that cross the wire: one class per AWS error code, encoded in one place.

Tree::

    ServiceError                      an AWS error a client can act on
    ├── ClientError (400)             the request was wrong, nothing was changed
    │   ├── ValidationException, InvalidParameterException, InvalidRequestException,
    │   │   ResourceNotFoundException, ResourceExistsException, LimitExceededException,
    │   │   ThrottlingException, EncryptionFailure, DecryptionFailure,
    │   │   UnknownOperationException, ...
    │   ├── KMS's own: NotFoundException, DisabledException, KMSInvalidStateException,
    │   │   InvalidCiphertextException, IncorrectKeyException, InvalidKeyUsageException, ...
    │   └── AuthError                 raised by the edge before any service runs
    │       ├── MissingAuthenticationTokenException (403)
    │       ├── IncompleteSignatureException, InvalidSignatureException
    │       ├── UnrecognizedClientException
    │       └── AccessDeniedException
    └── InternalError (500)           an unexpected failure; the message never has detail

Services raise these; ``strongroom.server.error_responses`` is the only code that turns
them into responses. The class name is the AWS code, so ``grep`` finds AWS docs and code.
"""

from __future__ import annotations

import math
from typing import ClassVar


class ServiceError(Exception):
    """An AWS-shaped error: code (the class name unless overridden), HTTP status, message."""

    status: ClassVar[int] = 400
    code_override: ClassVar[str | None] = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        return self.code_override or type(self).__name__


class ClientError(ServiceError):
    """The caller's fault: a 4xx that changed nothing."""


class ValidationException(ClientError):
    """A request member broke a constraint of the service model."""


class SerializationException(ClientError):
    """The body was not the JSON document the protocol requires."""


class UnknownOperationException(ClientError):
    """No such operation, or one this server does not implement yet."""


class InvalidParameterException(ClientError):
    """A parameter value is not valid for the current state of the resource."""


class InvalidRequestException(ClientError):
    """The request is not valid for the current state of the resource."""


class InvalidNextTokenException(ClientError):
    """The pagination token is not one this server issued for this query."""


class ResourceNotFoundException(ClientError):
    """The named resource does not exist (or the caller may not know it exists)."""


class ResourceExistsException(ClientError):
    """A resource with this name already exists."""


class LimitExceededException(ClientError):
    """A count limit would be exceeded."""


class ThrottlingException(ClientError):
    """The caller's tenant is over its request rate; ``retry_after`` (whole seconds, at
    least 1) goes out as the Retry-After header. Query services call it Throttling."""

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = max(1, math.ceil(retry_after))


class EncryptionFailure(ClientError):
    """The value could not be encrypted with the secret's KMS key."""


class DecryptionFailure(ClientError):
    """The value could not be decrypted with the secret's KMS key."""


# -- KMS ----------------------------------------------------------------------------


class NotFoundException(ClientError):
    """KMS: no key, alias or key material answers to that reference."""


class DisabledException(ClientError):
    """KMS: the key is disabled."""


class KMSInvalidStateException(ClientError):
    """KMS: the key's state (pending deletion, pending import, ...) forbids the request."""


class InvalidKeyUsageException(ClientError):
    """KMS: the key's usage or spec does not allow this operation or algorithm."""


class IncorrectKeyException(ClientError):
    """KMS: the ciphertext was not made under the key the request names."""


class InvalidCiphertextException(ClientError):
    """KMS: the ciphertext, its encryption context or its key do not authenticate."""


class InvalidGrantTokenException(ClientError):
    """KMS: a grant token that no grant of this server issued."""


class InvalidGrantIdException(ClientError):
    """KMS: a GrantId that is not the form of a grant id."""


class InvalidArnException(ClientError):
    """KMS: a parameter that must be an ARN is not a valid one."""


class InvalidAliasNameException(ClientError):
    """KMS: the alias name is malformed or reserved."""


class NotAuthorizedException(ClientError):
    """KMS: the request touches what only AWS may manage (e.g. the alias/aws/ names)."""


class AlreadyExistsException(ClientError):
    """KMS: the alias already exists."""


class UnsupportedOperationException(ClientError):
    """KMS: the operation is not supported for this key or by this server."""


class TagException(ClientError):
    """KMS: a tag key or value is not allowed."""


class MalformedPolicyDocumentException(ClientError):
    """A policy document is not valid."""


class PublicPolicyException(ClientError):
    """BlockPublicPolicy refused a resource policy that grants public access."""


class InvalidMarkerException(ClientError):
    """KMS: the pagination marker is not one this server issued."""


class IncorrectKeyMaterialException(ClientError):
    """KMS: imported key material is not the material previously imported into the key."""


class ExpiredImportTokenException(ClientError):
    """KMS: the import token has expired."""


class InvalidImportTokenException(ClientError):
    """KMS: the import token was not issued for this key or is malformed."""


class KMSInvalidSignatureException(ClientError):
    """KMS: the signature does not verify."""


class KMSInvalidMacException(ClientError):
    """KMS: the MAC does not verify."""


class DryRunOperationException(ClientError):
    """KMS: the request would have succeeded, but DryRun was set."""

    status = 412


class ConflictException(ClientError):
    """KMS: a conflicting operation (e.g. a rotation) is in progress."""


class InvalidStateException(ClientError):
    """Strongroom admin API: the tenant's status does not allow the operation."""


class RequestEntityTooLargeException(ClientError):
    """The body is larger than the server accepts."""

    status = 413


# -- CloudTrail (LookupEvents checks these members itself, with its own codes) ----------


class InvalidLookupAttributesException(ClientError):
    """CloudTrail: a lookup attribute is not valid, or more than one was given."""


class InvalidTimeRangeException(ClientError):
    """CloudTrail: the start time is after the end time, or a time is out of range."""


class InvalidMaxResultsException(ClientError):
    """CloudTrail: MaxResults is outside 1..50."""


class InvalidEventCategoryException(ClientError):
    """CloudTrail: EventCategory is not a category CloudTrail has."""


# -- IAM and STS (AWS query protocol; codes as their models spell them) ---------------


class ValidationError(ClientError):
    """IAM/STS: a request member broke a constraint of the service model."""


class InvalidInput(ClientError):
    """IAM: a parameter value is not valid."""


class NoSuchEntity(ClientError):
    """IAM: no user, role, group, policy or access key answers to that name."""

    status = 404


class EntityAlreadyExists(ClientError):
    """IAM: an entity with this name already exists."""

    status = 409


class DeleteConflict(ClientError):
    """IAM: the entity still has attached or subordinate entities."""

    status = 409


class LimitExceeded(ClientError):
    """IAM: a count limit (policies, versions, keys, tags) would be exceeded."""

    status = 409


class MalformedPolicyDocument(ClientError):
    """IAM/STS: the policy document is not valid JSON or not a valid policy."""


class PolicyNotAttachable(ClientError):
    """IAM: the managed policy cannot be attached (e.g. a service-linked policy)."""


class UnmodifiableEntity(ClientError):
    """IAM: the entity is managed by the service and cannot be changed."""


class PackedPolicyTooLarge(ClientError):
    """STS: the session policies and tags, packed, exceed the allowed size."""


class ExpiredTokenException(ClientError):
    """STS: the session token has expired."""


class InvalidAuthorizationMessageException(ClientError):
    """STS: the encoded authorization message is not one this server issued."""


class RegionDisabledException(ClientError):
    """STS: the region is not served."""

    status = 403


class InvalidAction(ClientError):
    """Query protocol: the Action (for this Version) is not an operation of the service."""


class MissingAction(ClientError):
    """Query protocol: the request has no Action parameter."""


class MalformedQueryString(ClientError):
    """Query protocol: the form body is not valid (encoding, UTF-8, duplicate parameters)."""


class InvalidParameterValue(ClientError):
    """Query protocol: a parameter's text is not a value of its type (integer, boolean, ...)."""


class AuthError(ClientError):
    """Authentication failures raised by the edge before a service runs."""


class MissingAuthenticationTokenException(AuthError):
    """The request carried no SigV4 authorization at all."""

    status = 403


class IncompleteSignatureException(AuthError):
    """The Authorization header or its parts are malformed or missing."""


class InvalidSignatureException(AuthError):
    """The signature does not match, the date is out of range, or the scope is wrong."""


class SignatureExpiredException(InvalidSignatureException):
    """The signing date is outside the allowed clock skew (query services: RequestExpired)."""

    code_override = "InvalidSignatureException"


class UnrecognizedClientException(AuthError):
    """The access key id is not one this server issued (or it is inactive)."""


class AccessDeniedException(AuthError):
    """The authenticated caller may not perform this action."""


class AccessDenied(AuthError):
    """IAM/STS (query protocol): the authenticated caller may not perform this action."""

    status = 403


class InternalError(ServiceError):
    """An unexpected failure. The message is generic; detail goes to the log only."""

    status = 500

    def __init__(self, code: str, message: str = "An internal error occurred.") -> None:
        super().__init__(message)
        self._code = code

    @property
    def code(self) -> str:
        return self._code
