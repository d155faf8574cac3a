"""Migration scripts of the data database."""
