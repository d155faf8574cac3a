"""KMS: keys, their versions of material, and the key hierarchy service."""
