"""KMS's cryptographic operations: encrypt, decrypt, data keys, signatures, MACs, ECDH, random."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from strongroom.context import CallContext
from strongroom.crypto import asymmetric, mac
from strongroom.crypto.key_material import KeyMaterial
from strongroom.errors import (
    DryRunOperationException,
    IncorrectKeyException,
    InvalidCiphertextException,
    InvalidKeyUsageException,
    KMSInvalidMacException,
    KMSInvalidSignatureException,
    KMSInvalidStateException,
    LimitExceededException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
)
from strongroom.kms import shapes
from strongroom.kms.key_access import KeyAccess, require_enabled
from strongroom.kms.key_authorization import KeyAuthorization
from strongroom.kms.key_specs import (
    DATA_KEY_PAIR_SPECS,
    ENCRYPT_DECRYPT,
    GENERATE_VERIFY_MAC,
    KEY_AGREEMENT,
    KEY_SPECS,
    SIGN_VERIFY,
    SYMMETRIC_DEFAULT,
)
from strongroom.kms.key_usage import KeyUsageTracker
from strongroom.kms.keyring import (
    CiphertextUnusable,
    KeyRing,
    PartitionDestroyed,
    key_material_id,
)
from strongroom.kms.partition_keys import MAX_PARTITION_VALUE_CHARS, is_valid_partition_value
from strongroom.kms.ports import KmsKeyRecord, PartitionLimitReached

_DATA_KEY_BYTES = {"AES_256": 32, "AES_128": 16}
_DRY_RUN_MESSAGE = "The request would have succeeded, but the DryRun option is set."
_NO_CONTEXT: Mapping[str, str] = {}
# Keys and values together, in UTF-8 (the limit the AWS Encryption SDK documents for KMS).
MAX_ENCRYPTION_CONTEXT_BYTES = 8192


@dataclass(frozen=True, slots=True)
class DataKey:
    """A fresh data key for a caller inside the server (Secrets Manager)."""

    plaintext: KeyMaterial = field(repr=False)
    ciphertext_blob: bytes
    key_arn: str


@dataclass(frozen=True, slots=True)
class _Opened:
    record: KmsKeyRecord
    version: int
    plaintext: bytes = field(repr=False)
    algorithm: str


def checked_context(value: Mapping[str, str] | None) -> Mapping[str, str]:
    """An encryption context from a request, checked: valid Unicode (no lone surrogates)
    and at most MAX_ENCRYPTION_CONTEXT_BYTES of UTF-8 in its keys and values together."""
    if not value:
        return _NO_CONTEXT
    total = 0
    for key, item in value.items():
        if key.isascii() and item.isascii():  # the usual case: its length is its UTF-8 size
            total += len(key) + len(item)
            continue
        try:
            total += len(key.encode("utf-8")) + len(item.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise ValidationException("EncryptionContext must be valid Unicode text.") from exc
    if total > MAX_ENCRYPTION_CONTEXT_BYTES:
        raise ValidationException(
            f"EncryptionContext is larger than {MAX_ENCRYPTION_CONTEXT_BYTES} bytes."
        )
    return value


def _require_usage(record: KmsKeyRecord, usage: str, operation: str) -> None:
    if record.key_usage != usage:
        raise InvalidKeyUsageException(
            f"{record.arn} key usage is {record.key_usage} which is not valid for {operation}."
        )


def _refuse_recipient(recipient: object | None) -> None:
    if recipient is not None:
        raise UnsupportedOperationException(
            "Recipient (Nitro Enclaves attestation) is not supported by this server."
        )


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _dry_run(flag: bool | None) -> None:
    if flag:
        raise DryRunOperationException(_DRY_RUN_MESSAGE)


class CryptographicOperations:
    """One method per KMS cryptographic operation, plus the data-key calls of Secrets Manager."""

    def __init__(
        self,
        access: KeyAccess,
        keyring: KeyRing,
        usage: KeyUsageTracker,
        authorization: KeyAuthorization,
    ) -> None:
        self._access = access
        self._keyring = keyring
        self._usage = usage
        self._authorization = authorization

    def _key_for(
        self,
        ctx: CallContext,
        operation: str,
        reference: str,
        *,
        grant_tokens: Sequence[str] | None = None,
        encryption_context: Mapping[str, str] | None = None,
        conditions: Mapping[str, str] | None = None,
        via_service: bool = False,
    ) -> KmsKeyRecord:
        """Find the key, authorize ``kms:<operation>`` on it, then require it Enabled."""
        record = self._access.find(ctx, reference)
        self._authorization.key(
            ctx,
            operation,
            record,
            reference=reference,
            conditions=conditions or {},
            encryption_context=encryption_context,
            grant_tokens=grant_tokens,
            via_service=via_service,
        )
        require_enabled(record)
        return record

    # -- symmetric encryption ---------------------------------------------------------

    @staticmethod
    def _require_symmetric(record: KmsKeyRecord, operation: str) -> KmsKeyRecord:
        if record.key_spec != SYMMETRIC_DEFAULT:
            raise InvalidKeyUsageException(
                f"{record.arn} key spec is {record.key_spec}, but {operation} needs a "
                "symmetric encryption KMS key (SYMMETRIC_DEFAULT)."
            )
        _require_usage(record, ENCRYPT_DECRYPT, operation)
        return record

    def _seal(
        self, ctx: CallContext, record: KmsKeyRecord, plaintext: bytes, context: Mapping[str, str]
    ) -> tuple[int, bytes]:
        """(version, blob) under a symmetric key; under the context's partition when the
        key is partitioned and the context names a value of its partition key (without
        one the blob is under the shared material: not shreddable per tenant)."""
        name = record.partition_key_name
        value = None if name is None else context.get(name)
        if value is not None and not is_valid_partition_value(value):
            raise ValidationException(
                f"{record.arn} is partitioned by the encryption context key {name}; its value "
                f"must be 1 to {MAX_PARTITION_VALUE_CHARS} characters, without control "
                "characters."
            )
        try:
            return self._keyring.encrypt_versioned(record.key_id, plaintext, context, name)
        except PartitionLimitReached as exc:
            raise LimitExceededException(
                f"{record.arn} has as many {name} partitions as a KMS key may have."
            ) from exc

    def _encrypt_with(
        self,
        ctx: CallContext,
        record: KmsKeyRecord,
        algorithm: str | None,
        plaintext: bytes,
        context: Mapping[str, str] | None,
    ) -> tuple[str, bytes, int]:
        """(algorithm, ciphertext, key version) under a key already found usable."""
        _require_usage(record, ENCRYPT_DECRYPT, "Encrypt")
        spec = KEY_SPECS[record.key_spec]
        algorithm = algorithm or SYMMETRIC_DEFAULT
        if algorithm not in spec.encryption_algorithms:
            raise InvalidKeyUsageException(
                f"{record.arn} does not support the encryption algorithm {algorithm}."
            )
        if record.key_spec == SYMMETRIC_DEFAULT:
            version, blob = self._seal(ctx, record, plaintext, checked_context(context))
            return algorithm, blob, version
        if context:
            raise ValidationException(
                "EncryptionContext is not supported with asymmetric KMS keys."
            )
        private = self._keyring.material(record.key_id, 1)
        try:
            blob = asymmetric.rsa_encrypt(record.key_spec, private, algorithm, plaintext)
        except asymmetric.MessageTooLong as exc:
            raise ValidationException(
                f"Plaintext is too long for {record.key_spec} with {algorithm}."
            ) from exc
        return algorithm, blob, 1

    def encrypt(self, ctx: CallContext, request: shapes.EncryptRequest) -> shapes.EncryptResult:
        context = checked_context(request.encryption_context)  # refuse a malformed one first
        record = self._key_for(
            ctx,
            "Encrypt",
            request.key_id,
            grant_tokens=request.grant_tokens,
            encryption_context=context,
            conditions={
                "kms:EncryptionAlgorithm": request.encryption_algorithm or SYMMETRIC_DEFAULT
            },
        )
        if request.dry_run:
            self._check_encryption_algorithm(record, request.encryption_algorithm)
            _dry_run(True)
        algorithm, blob, _ = self._encrypt_with(
            ctx, record, request.encryption_algorithm, request.plaintext, request.encryption_context
        )
        self._usage.note(record.key_id, "Encrypt", ctx.request_id)
        return shapes.EncryptResult(
            ciphertext_blob=blob, key_id=record.arn, encryption_algorithm=algorithm
        )

    @staticmethod
    def _check_encryption_algorithm(record: KmsKeyRecord, algorithm: str | None) -> None:
        _require_usage(record, ENCRYPT_DECRYPT, "Encrypt")
        if (algorithm or SYMMETRIC_DEFAULT) not in KEY_SPECS[record.key_spec].encryption_algorithms:
            raise InvalidKeyUsageException(
                f"{record.arn} does not support the encryption algorithm {algorithm}."
            )

    def _open(
        self,
        ctx: CallContext,
        blob: bytes | None,
        key_reference: str | None,
        algorithm: str | None,
        context: Mapping[str, str] | None,
        *,
        operation: str = "Decrypt",
        grant_tokens: Sequence[str] | None = None,
        via_service: bool = False,
        conditions: Mapping[str, str] | None = None,
        dry_run: bool = False,
        ignore_ciphertext: bool = False,
    ) -> _Opened:
        context = checked_context(context)
        if blob is None:
            raise ValidationException(
                "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy "
                "constraint: Member must not be null"
            )

        def authorize(record: KmsKeyRecord) -> None:
            self._authorization.key(
                ctx,
                operation,
                record,
                reference=key_reference,
                conditions={
                    "kms:EncryptionAlgorithm": algorithm or SYMMETRIC_DEFAULT,
                    **(conditions or {}),
                },
                encryption_context=context,
                grant_tokens=grant_tokens,
                via_service=via_service,
            )

        named = None if key_reference is None else self._access.find(ctx, key_reference)
        if named is not None:
            authorize(named)
        if named is not None and named.key_spec != SYMMETRIC_DEFAULT:
            return self._open_asymmetric(
                ctx, named, blob, algorithm, context, dry_run=dry_run, ignore=ignore_ciphertext
            )
        if algorithm not in (None, SYMMETRIC_DEFAULT):
            raise InvalidKeyUsageException(
                f"The encryption algorithm {algorithm} is not valid for a symmetric "
                "encryption KMS key."
            )
        try:
            blob_key_id = self._keyring.key_id_of(blob)
        except CiphertextUnusable as exc:
            if dry_run and ignore_ciphertext and named is not None:
                require_enabled(named)
                _dry_run(True)
            raise InvalidCiphertextException("") from exc
        if named is not None and named.key_id != blob_key_id:
            raise IncorrectKeyException(
                "The key ID in the request does not identify a CMK that can perform this operation."
            )
        record = named
        if record is None:
            record = self._key_of_ciphertext(ctx, blob_key_id)
            authorize(record)
        require_enabled(record)
        _require_usage(record, ENCRYPT_DECRYPT, "Decrypt")
        _dry_run(dry_run and ignore_ciphertext)
        try:
            # ``context`` is checked_context's result already (the first line of _open).
            key_id, version, plaintext = self._keyring.decrypt_versioned(
                blob, context, record.partition_key_name
            )
        except CiphertextUnusable as exc:
            raise InvalidCiphertextException("") from exc
        except PartitionDestroyed as exc:
            raise KMSInvalidStateException(
                f"The key material of the {record.partition_key_name} partition this "
                f"ciphertext was encrypted under ({record.arn}) was destroyed."
            ) from exc
        if key_id != record.key_id:  # the header is authenticated; this cannot differ
            raise InvalidCiphertextException("")
        # A dry run checks the ciphertext too, unless told to ignore it (DryRunModifiers).
        _dry_run(dry_run)
        return _Opened(record, version, plaintext, SYMMETRIC_DEFAULT)

    def _key_of_ciphertext(self, ctx: CallContext, key_id: str) -> KmsKeyRecord:
        """The key a blob names; a blob naming no key of ours is just an invalid ciphertext."""
        try:
            return self._access.find(ctx, key_id, allow_alias=False)
        except NotFoundException as exc:
            raise InvalidCiphertextException("") from exc

    def _open_asymmetric(
        self,
        ctx: CallContext,
        record: KmsKeyRecord,
        blob: bytes,
        algorithm: str | None,
        context: Mapping[str, str] | None,
        *,
        dry_run: bool,
        ignore: bool,
    ) -> _Opened:
        require_enabled(record)
        _require_usage(record, ENCRYPT_DECRYPT, "Decrypt")
        if algorithm is None or algorithm not in KEY_SPECS[record.key_spec].encryption_algorithms:
            raise InvalidKeyUsageException(
                f"{record.arn} needs one of the encryption algorithms "
                f"{', '.join(KEY_SPECS[record.key_spec].encryption_algorithms)}."
            )
        if context:
            raise ValidationException(
                "EncryptionContext is not supported with asymmetric KMS keys."
            )
        _dry_run(dry_run and ignore)
        private = self._keyring.material(record.key_id, 1)
        try:
            plaintext = asymmetric.rsa_decrypt(record.key_spec, private, algorithm, blob)
        except asymmetric.DecryptionFailed as exc:
            raise InvalidCiphertextException("") from exc
        _dry_run(dry_run)
        return _Opened(record, 1, plaintext, algorithm)

    def decrypt(self, ctx: CallContext, request: shapes.DecryptRequest) -> shapes.DecryptResult:
        _refuse_recipient(request.recipient)
        opened = self._open(
            ctx,
            request.ciphertext_blob,
            request.key_id,
            request.encryption_algorithm,
            request.encryption_context,
            grant_tokens=request.grant_tokens,
            dry_run=bool(request.dry_run),
            ignore_ciphertext="IGNORE_CIPHERTEXT" in (request.dry_run_modifiers or ()),
        )
        self._usage.note(opened.record.key_id, "Decrypt", ctx.request_id)
        return shapes.DecryptResult(
            key_id=opened.record.arn,
            plaintext=opened.plaintext,
            encryption_algorithm=opened.algorithm,
            key_material_id=self._material_id(opened.record, opened.version),
        )

    def re_encrypt(
        self, ctx: CallContext, request: shapes.ReEncryptRequest
    ) -> shapes.ReEncryptResult:
        destination_context = checked_context(request.destination_encryption_context)
        destination = self._access.find(ctx, request.destination_key_id)
        same_key = {
            "kms:ReEncryptOnSameKey": _flag(self._source_key_id(ctx, request) == destination.key_id)
        }
        self._authorization.key(
            ctx,
            "ReEncryptTo",
            destination,
            reference=request.destination_key_id,
            conditions={
                "kms:EncryptionAlgorithm": request.destination_encryption_algorithm
                or SYMMETRIC_DEFAULT,
                **same_key,
            },
            encryption_context=destination_context,
            grant_tokens=request.grant_tokens,
        )
        require_enabled(destination)
        self._check_encryption_algorithm(destination, request.destination_encryption_algorithm)
        opened = self._open(
            ctx,
            request.ciphertext_blob,
            request.source_key_id,
            request.source_encryption_algorithm,
            request.source_encryption_context,
            operation="ReEncryptFrom",
            grant_tokens=request.grant_tokens,
            conditions=same_key,
            dry_run=bool(request.dry_run),
            ignore_ciphertext="IGNORE_CIPHERTEXT" in (request.dry_run_modifiers or ()),
        )
        algorithm, blob, version = self._encrypt_with(
            ctx,
            destination,
            request.destination_encryption_algorithm,
            opened.plaintext,
            request.destination_encryption_context,
        )
        self._usage.note(opened.record.key_id, "ReEncrypt", ctx.request_id)
        self._usage.note(destination.key_id, "ReEncrypt", ctx.request_id)
        return shapes.ReEncryptResult(
            ciphertext_blob=blob,
            source_key_id=opened.record.arn,
            key_id=destination.arn,
            source_encryption_algorithm=opened.algorithm,
            destination_encryption_algorithm=algorithm,
            source_key_material_id=self._material_id(opened.record, opened.version),
            destination_key_material_id=self._material_id(destination, version),
        )

    def _source_key_id(self, ctx: CallContext, request: shapes.ReEncryptRequest) -> str | None:
        """The key ReEncrypt decrypts with, if it can be told (for kms:ReEncryptOnSameKey)."""
        if request.source_key_id is not None:
            try:
                return self._access.find(ctx, request.source_key_id).key_id
            except NotFoundException:
                return None
        if request.ciphertext_blob is None:
            return None
        try:
            return self._keyring.key_id_of(request.ciphertext_blob)
        except CiphertextUnusable:
            return None

    @staticmethod
    def _material_id(record: KmsKeyRecord, version: int) -> str | None:
        if record.key_spec != SYMMETRIC_DEFAULT:
            return None
        return key_material_id(record.key_id, version)

    # -- data keys --------------------------------------------------------------------

    @staticmethod
    def _data_key_length(key_spec: str | None, number_of_bytes: int | None) -> int:
        if (key_spec is None) == (number_of_bytes is None):
            raise ValidationException("Please specify either number of bytes or key spec.")
        if number_of_bytes is not None:
            return number_of_bytes
        assert key_spec is not None  # noqa: S101 - checked just above
        return _DATA_KEY_BYTES[key_spec]

    def _new_data_key(
        self,
        ctx: CallContext,
        reference: str,
        length: int,
        context: Mapping[str, str] | None,
        operation: str,
        *,
        grant_tokens: Sequence[str] | None = None,
        via_service: bool = False,
        dry_run: bool = False,
    ) -> tuple[KmsKeyRecord, bytes, bytes, int]:
        context = checked_context(context)
        record = self._key_for(
            ctx,
            operation,
            reference,
            grant_tokens=grant_tokens,
            encryption_context=context,
            conditions={"kms:EncryptionAlgorithm": SYMMETRIC_DEFAULT},
            via_service=via_service,
        )
        self._require_symmetric(record, operation)
        _dry_run(dry_run)
        plaintext = os.urandom(length)
        version, blob = self._seal(ctx, record, plaintext, checked_context(context))
        self._usage.note(record.key_id, operation, ctx.request_id)
        return record, plaintext, blob, version

    def generate_data_key(
        self, ctx: CallContext, request: shapes.GenerateDataKeyRequest
    ) -> shapes.GenerateDataKeyResult:
        _refuse_recipient(request.recipient)
        length = self._data_key_length(request.key_spec, request.number_of_bytes)
        record, plaintext, blob, version = self._new_data_key(
            ctx,
            request.key_id,
            length,
            request.encryption_context,
            "GenerateDataKey",
            grant_tokens=request.grant_tokens,
            dry_run=bool(request.dry_run),
        )
        return shapes.GenerateDataKeyResult(
            ciphertext_blob=blob,
            plaintext=plaintext,
            key_id=record.arn,
            key_material_id=key_material_id(record.key_id, version),
        )

    def generate_data_key_without_plaintext(
        self, ctx: CallContext, request: shapes.GenerateDataKeyWithoutPlaintextRequest
    ) -> shapes.GenerateDataKeyWithoutPlaintextResult:
        length = self._data_key_length(request.key_spec, request.number_of_bytes)
        record, _, blob, version = self._new_data_key(
            ctx,
            request.key_id,
            length,
            request.encryption_context,
            "GenerateDataKeyWithoutPlaintext",
            grant_tokens=request.grant_tokens,
            dry_run=bool(request.dry_run),
        )
        return shapes.GenerateDataKeyWithoutPlaintextResult(
            ciphertext_blob=blob,
            key_id=record.arn,
            key_material_id=key_material_id(record.key_id, version),
        )

    def _new_data_key_pair(
        self,
        ctx: CallContext,
        reference: str,
        pair_spec: str,
        context: Mapping[str, str] | None,
        operation: str,
        *,
        grant_tokens: Sequence[str] | None,
        dry_run: bool,
    ) -> tuple[KmsKeyRecord, KeyMaterial, bytes, bytes, int]:
        context = checked_context(context)
        record = self._key_for(
            ctx,
            operation,
            reference,
            grant_tokens=grant_tokens,
            encryption_context=context,
            conditions={
                "kms:EncryptionAlgorithm": SYMMETRIC_DEFAULT,
                "kms:DataKeyPairSpec": pair_spec,
            },
        )
        self._require_symmetric(record, operation)
        if pair_spec not in DATA_KEY_PAIR_SPECS:
            raise UnsupportedOperationException(
                f"KeyPairSpec {pair_spec} is not supported by this server."
            )
        _dry_run(dry_run)
        private, public = asymmetric.generate_data_key_pair(pair_spec)
        version, blob = self._seal(
            ctx, record, private.expose_secret_bytes(), checked_context(context)
        )
        self._usage.note(record.key_id, operation, ctx.request_id)
        return record, private, public, blob, version

    def generate_data_key_pair(
        self, ctx: CallContext, request: shapes.GenerateDataKeyPairRequest
    ) -> shapes.GenerateDataKeyPairResult:
        _refuse_recipient(request.recipient)
        record, private, public, blob, version = self._new_data_key_pair(
            ctx,
            request.key_id,
            request.key_pair_spec,
            request.encryption_context,
            "GenerateDataKeyPair",
            grant_tokens=request.grant_tokens,
            dry_run=bool(request.dry_run),
        )
        try:
            return shapes.GenerateDataKeyPairResult(
                private_key_ciphertext_blob=blob,
                private_key_plaintext=private.expose_secret_bytes(),
                public_key=public,
                key_id=record.arn,
                key_pair_spec=request.key_pair_spec,
                key_material_id=key_material_id(record.key_id, version),
            )
        finally:
            private.wipe()

    def generate_data_key_pair_without_plaintext(
        self, ctx: CallContext, request: shapes.GenerateDataKeyPairWithoutPlaintextRequest
    ) -> shapes.GenerateDataKeyPairWithoutPlaintextResult:
        record, private, public, blob, version = self._new_data_key_pair(
            ctx,
            request.key_id,
            request.key_pair_spec,
            request.encryption_context,
            "GenerateDataKeyPairWithoutPlaintext",
            grant_tokens=request.grant_tokens,
            dry_run=bool(request.dry_run),
        )
        private.wipe()
        return shapes.GenerateDataKeyPairWithoutPlaintextResult(
            private_key_ciphertext_blob=blob,
            public_key=public,
            key_id=record.arn,
            key_pair_spec=request.key_pair_spec,
            key_material_id=key_material_id(record.key_id, version),
        )

    def generate_random(
        self, ctx: CallContext, request: shapes.GenerateRandomRequest
    ) -> shapes.GenerateRandomResult:
        _refuse_recipient(request.recipient)
        if request.custom_key_store_id is not None:
            raise UnsupportedOperationException("Custom key stores are not supported.")
        self._authorization.account(ctx, "GenerateRandom")
        if request.number_of_bytes is None:
            raise ValidationException("NumberOfBytes is required.")
        return shapes.GenerateRandomResult(plaintext=os.urandom(request.number_of_bytes))

    # -- signatures, MACs, key agreement ----------------------------------------------

    def _signing_key(
        self,
        ctx: CallContext,
        operation: str,
        request: shapes.SignRequest | shapes.VerifyRequest,
    ) -> KmsKeyRecord:
        algorithm = request.signing_algorithm
        record = self._key_for(
            ctx,
            operation,
            request.key_id,
            grant_tokens=request.grant_tokens,
            conditions={
                "kms:SigningAlgorithm": algorithm,
                "kms:MessageType": request.message_type or "RAW",
            },
        )
        _require_usage(record, SIGN_VERIFY, "Sign and Verify")
        if algorithm not in KEY_SPECS[record.key_spec].signing_algorithms:
            raise InvalidKeyUsageException(
                f"{record.arn} does not support the signing algorithm {algorithm}."
            )
        return record

    def _checked_message(self, algorithm: str, message: bytes, message_type: str | None) -> str:
        message_type = message_type or "RAW"
        if message_type not in ("RAW", "DIGEST"):  # EXTERNAL_MU is for ML-DSA keys only
            raise ValidationException(
                f"MessageType {message_type} is not valid with the signing algorithm {algorithm}."
            )
        if message_type == "DIGEST":
            if algorithm.startswith("ED25519_SHA"):
                raise ValidationException(
                    f"MessageType DIGEST is not valid with the signing algorithm {algorithm}."
                )
            if len(message) != asymmetric.digest_size(algorithm):
                raise ValidationException(f"Digest is invalid length for algorithm {algorithm}.")
        return message_type

    def sign(self, ctx: CallContext, request: shapes.SignRequest) -> shapes.SignResult:
        record = self._signing_key(ctx, "Sign", request)
        message_type = self._checked_message(
            request.signing_algorithm, request.message, request.message_type
        )
        _dry_run(request.dry_run)
        signature = asymmetric.sign(
            record.key_spec,
            self._keyring.material(record.key_id, 1),
            request.signing_algorithm,
            request.message,
            message_type,
        )
        self._usage.note(record.key_id, "Sign", ctx.request_id)
        return shapes.SignResult(
            key_id=record.arn, signature=signature, signing_algorithm=request.signing_algorithm
        )

    def verify(self, ctx: CallContext, request: shapes.VerifyRequest) -> shapes.VerifyResult:
        record = self._signing_key(ctx, "Verify", request)
        message_type = self._checked_message(
            request.signing_algorithm, request.message, request.message_type
        )
        _dry_run(request.dry_run)
        valid = asymmetric.verify(
            record.key_spec,
            self._keyring.material(record.key_id, 1),
            request.signing_algorithm,
            request.message,
            message_type,
            request.signature,
        )
        self._usage.note(record.key_id, "Verify", ctx.request_id)
        if not valid:
            raise KMSInvalidSignatureException("")
        return shapes.VerifyResult(
            key_id=record.arn, signature_valid=True, signing_algorithm=request.signing_algorithm
        )

    def get_public_key(
        self, ctx: CallContext, request: shapes.GetPublicKeyRequest
    ) -> shapes.GetPublicKeyResult:
        record = self._key_for(
            ctx, "GetPublicKey", request.key_id, grant_tokens=request.grant_tokens
        )
        if record.key_spec == SYMMETRIC_DEFAULT or record.key_usage == GENERATE_VERIFY_MAC:
            raise UnsupportedOperationException(
                f"{record.arn} key usage is {record.key_usage} and key spec is "
                f"{record.key_spec}; only asymmetric KMS keys have a public key."
            )
        spec = KEY_SPECS[record.key_spec]
        algorithms = spec.algorithms_for(record.key_usage)
        return shapes.GetPublicKeyResult(
            key_id=record.arn,
            public_key=asymmetric.public_key_der(
                record.key_spec, self._keyring.material(record.key_id, 1)
            ),
            customer_master_key_spec=record.key_spec,
            key_spec=record.key_spec,
            key_usage=record.key_usage,
            encryption_algorithms=algorithms.get("encryption_algorithms"),
            signing_algorithms=algorithms.get("signing_algorithms"),
            key_agreement_algorithms=algorithms.get("key_agreement_algorithms"),
        )

    def _mac_key(
        self,
        ctx: CallContext,
        operation: str,
        request: shapes.GenerateMacRequest | shapes.VerifyMacRequest,
    ) -> KmsKeyRecord:
        algorithm = request.mac_algorithm
        record = self._key_for(
            ctx,
            operation,
            request.key_id,
            grant_tokens=request.grant_tokens,
            conditions={"kms:MacAlgorithm": algorithm},
        )
        _require_usage(record, GENERATE_VERIFY_MAC, "GenerateMac and VerifyMac")
        if algorithm not in KEY_SPECS[record.key_spec].mac_algorithms:
            raise InvalidKeyUsageException(
                f"{record.arn} does not support the MAC algorithm {algorithm}."
            )
        return record

    def generate_mac(
        self, ctx: CallContext, request: shapes.GenerateMacRequest
    ) -> shapes.GenerateMacResult:
        record = self._mac_key(ctx, "GenerateMac", request)
        _dry_run(request.dry_run)
        tag = mac.generate_mac(
            record.key_spec,
            self._keyring.material(record.key_id, 1),
            request.mac_algorithm,
            request.message,
        )
        self._usage.note(record.key_id, "GenerateMac", ctx.request_id)
        return shapes.GenerateMacResult(
            mac=tag, mac_algorithm=request.mac_algorithm, key_id=record.arn
        )

    def verify_mac(
        self, ctx: CallContext, request: shapes.VerifyMacRequest
    ) -> shapes.VerifyMacResult:
        record = self._mac_key(ctx, "VerifyMac", request)
        _dry_run(request.dry_run)
        valid = mac.verify_mac(
            record.key_spec,
            self._keyring.material(record.key_id, 1),
            request.mac_algorithm,
            request.message,
            request.mac,
        )
        self._usage.note(record.key_id, "VerifyMac", ctx.request_id)
        if not valid:
            raise KMSInvalidMacException("")
        return shapes.VerifyMacResult(
            key_id=record.arn, mac_valid=True, mac_algorithm=request.mac_algorithm
        )

    def derive_shared_secret(
        self, ctx: CallContext, request: shapes.DeriveSharedSecretRequest
    ) -> shapes.DeriveSharedSecretResult:
        _refuse_recipient(request.recipient)
        record = self._key_for(
            ctx,
            "DeriveSharedSecret",
            request.key_id,
            grant_tokens=request.grant_tokens,
            conditions={"kms:KeyAgreementAlgorithm": request.key_agreement_algorithm},
        )
        _require_usage(record, KEY_AGREEMENT, "DeriveSharedSecret")
        _dry_run(request.dry_run)
        try:
            secret = asymmetric.derive_shared_secret(
                record.key_spec, self._keyring.material(record.key_id, 1), request.public_key
            )
        except asymmetric.InvalidPublicKey as exc:
            raise ValidationException(
                "PublicKey must be a DER-encoded X.509 public key on the KMS key's curve."
            ) from exc
        self._usage.note(record.key_id, "DeriveSharedSecret", ctx.request_id)
        return shapes.DeriveSharedSecretResult(
            key_id=record.arn,
            shared_secret=secret,
            key_agreement_algorithm=request.key_agreement_algorithm,
            key_origin=record.origin,
        )

    # -- for Secrets Manager ------------------------------------------------------------

    def check_data_key_key(self, ctx: CallContext, reference: str) -> None:
        """Is this a key that could make data keys? (It may still be disabled today.)"""
        record = self._access.find(ctx, reference)
        if record.key_spec != SYMMETRIC_DEFAULT:
            raise InvalidKeyUsageException(f"{record.arn} is not a symmetric encryption KMS key.")

    def new_data_key(self, ctx: CallContext, reference: str, context: Mapping[str, str]) -> DataKey:
        """A 256-bit data key under a symmetric key, as GenerateDataKey makes it, authorized
        for the caller as Secrets Manager's call (kms:ViaService)."""
        record, plaintext, blob, _ = self._new_data_key(
            ctx, reference, 32, context, "GenerateDataKey", via_service=True
        )
        return DataKey(KeyMaterial(plaintext), blob, record.arn)

    def open_data_key(
        self, ctx: CallContext, blob: bytes, context: Mapping[str, str]
    ) -> KeyMaterial:
        """Decrypt a data key blob, with every check Decrypt makes (kms:ViaService set)."""
        opened = self._open(ctx, blob, None, None, context, via_service=True)
        self._usage.note(opened.record.key_id, "Decrypt", ctx.request_id)
        return KeyMaterial(opened.plaintext)

    def rewrap_data_key(
        self, ctx: CallContext, blob: bytes, context: Mapping[str, str], destination: str
    ) -> tuple[bytes, str]:
        """Re-encrypt a data key blob under another key (ReEncrypt, kms:ViaService set);
        (blob, key ARN)."""
        target = self._key_for(
            ctx,
            "ReEncryptTo",
            destination,
            encryption_context=context,
            conditions={"kms:EncryptionAlgorithm": SYMMETRIC_DEFAULT},
            via_service=True,
        )
        self._require_symmetric(target, "ReEncrypt")
        opened = self._open(
            ctx, blob, None, None, context, operation="ReEncryptFrom", via_service=True
        )
        _, rewrapped = self._seal(ctx, target, opened.plaintext, context)
        self._usage.note(opened.record.key_id, "ReEncrypt", ctx.request_id)
        self._usage.note(target.key_id, "ReEncrypt", ctx.request_id)
        return rewrapped, target.arn
