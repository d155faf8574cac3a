"""Which key specs Strongroom serves, which usages each allows, and the algorithms of each."""

from __future__ import annotations

from dataclasses import dataclass

SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"
ENCRYPT_DECRYPT = "ENCRYPT_DECRYPT"
SIGN_VERIFY = "SIGN_VERIFY"
GENERATE_VERIFY_MAC = "GENERATE_VERIFY_MAC"
KEY_AGREEMENT = "KEY_AGREEMENT"

_RSA_ENCRYPTION = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")
_RSA_SIGNING = (
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
)


@dataclass(frozen=True, slots=True)
class KeySpecInfo:
    """What KMS publishes about one key spec (DescribeKey's algorithm lists come from here)."""

    name: str
    usages: tuple[str, ...]
    encryption_algorithms: tuple[str, ...] = ()
    signing_algorithms: tuple[str, ...] = ()
    mac_algorithms: tuple[str, ...] = ()
    key_agreement_algorithms: tuple[str, ...] = ()
    # Symmetric encryption keys rotate; no other kind does on AWS.
    rotatable: bool = False
    # Key material an EXTERNAL key of this spec can import.
    importable: bool = True

    @property
    def default_usage(self) -> str | None:
        """The usage CreateKey assumes when none is given (AWS: ENCRYPT_DECRYPT, if valid)."""
        return ENCRYPT_DECRYPT if ENCRYPT_DECRYPT in self.usages else None

    def algorithms_for(self, usage: str) -> dict[str, tuple[str, ...]]:
        """DescribeKey's algorithm members for a key of this spec and usage."""
        if usage == ENCRYPT_DECRYPT:
            return {"encryption_algorithms": self.encryption_algorithms}
        if usage == SIGN_VERIFY:
            return {"signing_algorithms": self.signing_algorithms}
        if usage == GENERATE_VERIFY_MAC:
            return {"mac_algorithms": self.mac_algorithms}
        if usage == KEY_AGREEMENT:
            return {"key_agreement_algorithms": self.key_agreement_algorithms}
        return {}


def _hmac(bits: int) -> KeySpecInfo:
    return KeySpecInfo(f"HMAC_{bits}", (GENERATE_VERIFY_MAC,), mac_algorithms=(f"HMAC_SHA_{bits}",))


def _rsa(bits: int) -> KeySpecInfo:
    return KeySpecInfo(
        f"RSA_{bits}",
        (ENCRYPT_DECRYPT, SIGN_VERIFY),
        encryption_algorithms=_RSA_ENCRYPTION,
        signing_algorithms=_RSA_SIGNING,
    )


def _nist(curve: str, digest_bits: int) -> KeySpecInfo:
    return KeySpecInfo(
        f"ECC_NIST_{curve}",
        (SIGN_VERIFY, KEY_AGREEMENT),
        signing_algorithms=(f"ECDSA_SHA_{digest_bits}",),
        key_agreement_algorithms=("ECDH",),
    )


KEY_SPECS: dict[str, KeySpecInfo] = {
    spec.name: spec
    for spec in (
        KeySpecInfo(
            SYMMETRIC_DEFAULT,
            (ENCRYPT_DECRYPT,),
            encryption_algorithms=(SYMMETRIC_DEFAULT,),
            rotatable=True,
        ),
        _rsa(2048),
        _rsa(3072),
        _rsa(4096),
        _nist("P256", 256),
        _nist("P384", 384),
        _nist("P521", 512),
        KeySpecInfo("ECC_SECG_P256K1", (SIGN_VERIFY,), signing_algorithms=("ECDSA_SHA_256",)),
        # Ed25519ph (ED25519_PH_SHA_512) is not offered: `cryptography` has no prehash mode.
        KeySpecInfo(
            "ECC_NIST_EDWARDS25519", (SIGN_VERIFY,), signing_algorithms=("ED25519_SHA_512",)
        ),
        _hmac(224),
        _hmac(256),
        _hmac(384),
        _hmac(512),
    )
}

# Specs in the model that Strongroom does not serve: SM2 (China regions only), the
# post-quantum ML-DSA and ML-KEM families (no support in `cryptography` yet).
UNSUPPORTED_KEY_SPECS = frozenset(
    {"SM2", "ML_DSA_44", "ML_DSA_65", "ML_DSA_87", "ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"}
)

# GenerateDataKeyPair's KeyPairSpec values that Strongroom serves.
DATA_KEY_PAIR_SPECS = frozenset(
    {
        "RSA_2048",
        "RSA_3072",
        "RSA_4096",
        "ECC_NIST_P256",
        "ECC_NIST_P384",
        "ECC_NIST_P521",
        "ECC_SECG_P256K1",
        "ECC_NIST_EDWARDS25519",
    }
)
