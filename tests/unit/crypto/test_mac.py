"""HMAC keys produce RFC 4231 MACs, verify in constant time and refuse mismatched algorithms."""

from __future__ import annotations

import pytest

from strongroom.crypto import asymmetric, mac
from strongroom.crypto.asymmetric import IncompatibleAlgorithm, UnsupportedKeySpec
from strongroom.crypto.key_material import KeyMaterial

SPECS = {
    "HMAC_224": "HMAC_SHA_224",
    "HMAC_256": "HMAC_SHA_256",
    "HMAC_384": "HMAC_SHA_384",
    "HMAC_512": "HMAC_SHA_512",
}
# RFC 4231 section 4.3, test case 2.
RFC4231_KEY = b"Jefe"
RFC4231_DATA = b"what do ya want for nothing?"
RFC4231_MACS = {
    "HMAC_224": "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44",
    "HMAC_256": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    "HMAC_384": (
        "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47"
        "e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"
    ),
    "HMAC_512": (
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
        "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
    ),
}


@pytest.mark.parametrize("spec", SPECS)
def test_rfc4231_case_2(spec: str) -> None:
    key = KeyMaterial(RFC4231_KEY)
    expected = bytes.fromhex(RFC4231_MACS[spec])
    assert mac.generate_mac(spec, key, SPECS[spec], RFC4231_DATA) == expected
    assert mac.verify_mac(spec, key, SPECS[spec], RFC4231_DATA, expected)


@pytest.mark.parametrize("spec", SPECS)
def test_generated_keys_round_trip(spec: str) -> None:
    key = asymmetric.generate(spec)
    tag = mac.generate_mac(spec, key, SPECS[spec], b"message")
    assert len(tag) == int(spec[5:]) // 8
    assert mac.verify_mac(spec, key, SPECS[spec], b"message", tag)
    assert not mac.verify_mac(spec, key, SPECS[spec], b"message!", tag)
    assert not mac.verify_mac(spec, asymmetric.generate(spec), SPECS[spec], b"message", tag)


@pytest.mark.parametrize("spec", SPECS)
def test_any_flipped_bit_fails(spec: str) -> None:
    key = KeyMaterial(RFC4231_KEY)
    tag = mac.generate_mac(spec, key, SPECS[spec], RFC4231_DATA)
    for bit in range(len(tag) * 8):
        flipped = bytearray(tag)
        flipped[bit // 8] ^= 1 << (bit % 8)
        assert not mac.verify_mac(spec, key, SPECS[spec], RFC4231_DATA, bytes(flipped))


@pytest.mark.parametrize("spec", SPECS)
def test_truncated_or_extended_macs_fail(spec: str) -> None:
    key = KeyMaterial(RFC4231_KEY)
    tag = mac.generate_mac(spec, key, SPECS[spec], RFC4231_DATA)
    for bad in (b"", tag[:-1], tag[:16], tag + b"\x00"):
        assert not mac.verify_mac(spec, key, SPECS[spec], RFC4231_DATA, bad)


@pytest.mark.parametrize(
    ("spec", "algorithm"),
    [
        ("HMAC_224", "HMAC_SHA_256"),
        ("HMAC_256", "HMAC_SHA_224"),
        ("HMAC_384", "HMAC_SHA_512"),
        ("HMAC_512", "HMAC_SHA_384"),
        ("HMAC_256", "hmac_sha_256"),
        ("HMAC_256", "RSASSA_PSS_SHA_256"),
        ("RSA_2048", "HMAC_SHA_256"),
        ("ECC_NIST_P256", "HMAC_SHA_256"),
    ],
)
def test_algorithm_must_match_the_spec(spec: str, algorithm: str) -> None:
    key = KeyMaterial(RFC4231_KEY)
    with pytest.raises(IncompatibleAlgorithm):
        mac.generate_mac(spec, key, algorithm, b"m")
    with pytest.raises(IncompatibleAlgorithm):
        mac.verify_mac(spec, key, algorithm, b"m", bytes(32))


@pytest.mark.parametrize("spec", ["SYMMETRIC_DEFAULT", "HMAC_1024", "hmac_256", ""])
def test_unknown_specs_are_unsupported(spec: str) -> None:
    key = KeyMaterial(RFC4231_KEY)
    with pytest.raises(UnsupportedKeySpec):
        mac.generate_mac(spec, key, "HMAC_SHA_256", b"m")
    with pytest.raises(UnsupportedKeySpec):
        mac.verify_mac(spec, key, "HMAC_SHA_256", b"m", bytes(32))
