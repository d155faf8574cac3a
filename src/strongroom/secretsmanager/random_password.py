"""GetRandomPassword: passwords from the OS CSPRNG under AWS's character-class rules."""

from __future__ import annotations

import secrets
import string

from strongroom.errors import InvalidParameterException

PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
DEFAULT_LENGTH = 32


def generate(
    length: int = DEFAULT_LENGTH,
    *,
    exclude_characters: str = "",
    exclude_numbers: bool = False,
    exclude_punctuation: bool = False,
    exclude_uppercase: bool = False,
    exclude_lowercase: bool = False,
    include_space: bool = False,
    require_each_included_type: bool = True,
) -> str:
    excluded = set(exclude_characters)
    classes: list[str] = []
    for skip, chars in (
        (exclude_lowercase, string.ascii_lowercase),
        (exclude_uppercase, string.ascii_uppercase),
        (exclude_numbers, string.digits),
        (exclude_punctuation, PUNCTUATION),
        (not include_space, " "),
    ):
        if skip:
            continue
        allowed = "".join(c for c in chars if c not in excluded)
        if allowed:
            classes.append(allowed)
    if not classes:
        raise InvalidParameterException(
            "The password can't be generated: every character type is excluded."
        )
    if not 1 <= length <= 4096:
        raise InvalidParameterException("PasswordLength must be between 1 and 4096.")
    if require_each_included_type and length < len(classes):
        raise InvalidParameterException(
            "The password length is too short to include a character of each included type."
        )
    alphabet = "".join(classes)
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if not require_each_included_type or all(
            any(c in cls for c in password) for cls in classes
        ):
            return password
