"""Migration scripts of the keystore database."""
