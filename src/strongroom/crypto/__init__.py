"""Cryptography for Strongroom: pure functions over bytes, the only importer of `cryptography`."""
