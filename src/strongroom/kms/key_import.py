"""Bring your own key: import parameters, importing material, deleting it, its expiry."""

from __future__ import annotations

import hashlib
import hmac
import logging
import struct
import uuid
from datetime import UTC, datetime, timedelta

from strongroom.clock import Clock
from strongroom.context import CallContext
from strongroom.crypto import asymmetric, import_wrapping
from strongroom.crypto.key_material import KeyMaterial
from strongroom.errors import (
    ExpiredImportTokenException,
    IncorrectKeyMaterialException,
    InvalidCiphertextException,
    InvalidImportTokenException,
    KMSInvalidStateException,
    UnsupportedOperationException,
    ValidationException,
)
from strongroom.kms import shapes
from strongroom.kms.key_access import (
    ENABLED,
    PENDING_DELETION,
    PENDING_IMPORT,
    KeyAccess,
    require_customer_managed,
    require_not_pending_deletion,
)
from strongroom.kms.key_authorization import KeyAuthorization
from strongroom.kms.key_specs import SYMMETRIC_DEFAULT
from strongroom.kms.keyring import KeyRing, key_material_id
from strongroom.kms.ports import KmsKeyRecord

log = logging.getLogger(__name__)

IMPORT_PARAMETERS_LIFETIME = timedelta(hours=24)
MAX_VALID_TO = timedelta(days=365)
SUPPORTED_WRAPPING_ALGORITHMS = frozenset(
    {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"}
)
SUPPORTED_WRAPPING_KEY_SPECS = frozenset({"RSA_2048", "RSA_3072", "RSA_4096"})
EXPIRES = "KEY_MATERIAL_EXPIRES"
DOES_NOT_EXPIRE = "KEY_MATERIAL_DOES_NOT_EXPIRE"

_TOKEN_VERSION = 1
_TOKEN_HEADER = struct.Struct(">BqB")  # version, expiry (µs since epoch), algorithm length
_TOKEN_LABEL = b"strongroom/import-token/v1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SWEEP_BATCH = 100


def _micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def material_digest(material: KeyMaterial) -> bytes:
    """What a re-import is compared against: a hash of the material, never the material."""
    label = b"strongroom/imported-material/v1\x00"
    return hashlib.sha256(label + material.expose_secret_bytes()).digest()


class KeyImport:
    """GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial, and expiry.

    The import token is stateless: it carries the wrapping private key, wrapped under the
    domain key and bound to the KMS key id, the expiry and the wrapping algorithm.
    """

    def __init__(
        self, access: KeyAccess, keyring: KeyRing, clock: Clock, authorization: KeyAuthorization
    ) -> None:
        self._access = access
        self._keyring = keyring
        self._clock = clock
        self._authorization = authorization
        self._store = access.directory.store

    def _external_key(
        self,
        ctx: CallContext,
        reference: str,
        operation: str,
        action: str,
        conditions: dict[str, str] | None = None,
    ) -> KmsKeyRecord:
        record = self._access.fresh(ctx, reference)
        self._authorization.key(
            ctx, operation, record, reference=reference, conditions=conditions or {}
        )
        require_customer_managed(record, action)
        if record.origin != "EXTERNAL":
            raise UnsupportedOperationException(
                f"{record.arn} origin is {record.origin}; only keys with origin EXTERNAL "
                "take imported key material."
            )
        return record

    @staticmethod
    def _token_identity(key_id: str, expiry: int, algorithm: bytes) -> bytes:
        return uuid.UUID(key_id).bytes + expiry.to_bytes(8, "big", signed=True) + algorithm

    def get_parameters_for_import(
        self, ctx: CallContext, request: shapes.GetParametersForImportRequest
    ) -> shapes.GetParametersForImportResult:
        record = self._external_key(
            ctx,
            request.key_id,
            "GetParametersForImport",
            "import key material into",
            {
                "kms:WrappingAlgorithm": request.wrapping_algorithm,
                "kms:WrappingKeySpec": request.wrapping_key_spec,
            },
        )
        require_not_pending_deletion(record)
        if request.wrapping_algorithm not in SUPPORTED_WRAPPING_ALGORITHMS:
            raise UnsupportedOperationException(
                f"WrappingAlgorithm {request.wrapping_algorithm} is not supported."
            )
        if request.wrapping_key_spec not in SUPPORTED_WRAPPING_KEY_SPECS:
            raise UnsupportedOperationException(
                f"WrappingKeySpec {request.wrapping_key_spec} is not supported."
            )
        private, public = import_wrapping.new_wrapping_key(request.wrapping_key_spec)
        valid_to = self._clock.now() + IMPORT_PARAMETERS_LIFETIME
        expiry = _micros(valid_to)
        algorithm = request.wrapping_algorithm.encode()
        try:
            wrapped = self._keyring.wrap_secret(
                private.expose_secret_bytes(),
                _TOKEN_LABEL,
                self._token_identity(record.key_id, expiry, algorithm),
            )
        finally:
            private.wipe()
        token = _TOKEN_HEADER.pack(_TOKEN_VERSION, expiry, len(algorithm)) + algorithm + wrapped
        return shapes.GetParametersForImportResult(
            key_id=record.arn, import_token=token, public_key=public, parameters_valid_to=valid_to
        )

    def _open_token(self, record: KmsKeyRecord, token: bytes) -> tuple[KeyMaterial, str]:
        """(wrapping private key, wrapping algorithm) from an import token."""
        if len(token) < _TOKEN_HEADER.size:
            raise InvalidImportTokenException("The import token is not valid.")
        version, expiry, length = _TOKEN_HEADER.unpack_from(token)
        algorithm = token[_TOKEN_HEADER.size : _TOKEN_HEADER.size + length]
        wrapped = token[_TOKEN_HEADER.size + length :]
        if version != _TOKEN_VERSION or len(algorithm) != length:
            raise InvalidImportTokenException("The import token is not valid.")
        try:
            private = self._keyring.unwrap_secret(
                wrapped, _TOKEN_LABEL, self._token_identity(record.key_id, expiry, algorithm)
            )
        except Exception as exc:
            raise InvalidImportTokenException(
                "The import token is not valid for this KMS key."
            ) from exc
        if expiry < _micros(self._clock.now()):
            raise ExpiredImportTokenException("The import token has expired.")
        return KeyMaterial(private), algorithm.decode()

    def _expiration(self, request: shapes.ImportKeyMaterialRequest) -> tuple[str, datetime | None]:
        model = request.expiration_model or (EXPIRES if request.valid_to else DOES_NOT_EXPIRE)
        if model == EXPIRES:
            if request.valid_to is None:
                raise ValidationException(
                    "ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES."
                )
            now = self._clock.now()
            if not now < request.valid_to <= now + MAX_VALID_TO:
                raise ValidationException(
                    "ValidTo must be in the future and at most 365 days from now."
                )
            return model, request.valid_to
        if request.valid_to is not None:
            raise ValidationException(
                "ValidTo must be omitted when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE."
            )
        return model, None

    @staticmethod
    def _checked_material(record: KmsKeyRecord, material: KeyMaterial) -> KeyMaterial:
        if record.key_spec == SYMMETRIC_DEFAULT:
            if len(material) != 32:
                material.wipe()
                raise IncorrectKeyMaterialException(
                    "Key material for a SYMMETRIC_DEFAULT key must be 256 bits."
                )
            return material
        try:
            return asymmetric.normalize_imported(record.key_spec, material.expose_secret_bytes())
        except asymmetric.InvalidKeyMaterial as exc:
            raise IncorrectKeyMaterialException(
                f"The key material is not a valid {record.key_spec} key."
            ) from exc
        finally:
            material.wipe()

    def import_key_material(
        self, ctx: CallContext, request: shapes.ImportKeyMaterialRequest
    ) -> shapes.ImportKeyMaterialResult:
        conditions = {}
        if request.expiration_model is not None:
            conditions["kms:ExpirationModel"] = request.expiration_model
        record = self._external_key(
            ctx, request.key_id, "ImportKeyMaterial", "import key material into", conditions
        )
        require_not_pending_deletion(record)
        if request.import_type == "NEW_KEY_MATERIAL" and record.imported_material_digest:
            raise UnsupportedOperationException(
                "Rotating imported key material (ImportType NEW_KEY_MATERIAL) is not supported."
            )
        expected_id = key_material_id(record.key_id, 1)
        if request.key_material_id is not None and request.key_material_id != expected_id:
            raise IncorrectKeyMaterialException(
                f"{record.arn} has no key material {request.key_material_id}."
            )
        model, valid_to = self._expiration(request)
        wrapping_key, algorithm = self._open_token(record, request.import_token)
        try:
            unwrapped = import_wrapping.unwrap_imported(
                wrapping_key, algorithm, request.encrypted_key_material
            )
        except import_wrapping.ImportUnwrapFailed as exc:
            raise InvalidCiphertextException(
                "The encrypted key material could not be decrypted with the import parameters."
            ) from exc
        finally:
            wrapping_key.wipe()
        material = self._checked_material(record, unwrapped)
        digest = material_digest(material)
        if record.imported_material_digest is not None and not hmac.compare_digest(
            digest, record.imported_material_digest
        ):
            material.wipe()
            raise IncorrectKeyMaterialException(
                "The key material is not the key material previously imported into this KMS "
                "key. You can only reimport the same key material."
            )
        # Material first: the key becomes usable only once its material is stored. A
        # re-import of the same material (to change its expiry) finds it stored already.
        self._keyring.import_key_material(record.key_id, 1, material)
        self._access.update(
            record,
            {
                "key_state": ENABLED if record.key_state == PENDING_IMPORT else record.key_state,
                "expiration_model": model,
                "valid_to": valid_to,
                "imported_material_digest": digest,
            },
        )
        return shapes.ImportKeyMaterialResult(key_id=record.arn, key_material_id=expected_id)

    def delete_imported_key_material(
        self, ctx: CallContext, request: shapes.DeleteImportedKeyMaterialRequest
    ) -> shapes.DeleteImportedKeyMaterialResult:
        record = self._external_key(
            ctx, request.key_id, "DeleteImportedKeyMaterial", "delete the key material of"
        )
        if record.key_state == PENDING_IMPORT:
            raise KMSInvalidStateException(f"{record.arn} is pending import.")
        expected_id = key_material_id(record.key_id, 1)
        if request.key_material_id is not None and request.key_material_id != expected_id:
            raise IncorrectKeyMaterialException(
                f"{record.arn} has no key material {request.key_material_id}."
            )
        self._shred(record)
        return shapes.DeleteImportedKeyMaterialResult(
            key_id=record.arn, key_material_id=expected_id
        )

    def _shred(self, record: KmsKeyRecord) -> None:
        # The material goes first: from here on nothing decrypts, whatever happens next.
        count = self._keyring.destroy(record.key_id)
        self._access.update(
            record,
            {
                "key_state": record.key_state
                if record.key_state == PENDING_DELETION
                else PENDING_IMPORT,
                "expiration_model": None,
                "valid_to": None,
            },
        )
        log.info("deleted imported key material of %s (%d versions)", record.key_id, count)

    def expire_imported_material(self) -> int:
        """The reaper: delete imported material whose ValidTo has passed."""
        expired = self._store.keys_with_expired_material(self._clock.now(), _SWEEP_BATCH)
        for record in expired:
            self._shred(record)
        return len(expired)
