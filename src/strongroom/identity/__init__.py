"""Identity: accounts, principals and the credentials the server issued."""
