"""The one error the policy package raises: an invalid policy document."""

from __future__ import annotations


class PolicyDocumentError(ValueError):
    """Invalid policy; str(e) is the message IAM would give ('Syntax errors in policy.', ...).

    Messages never echo more than a short excerpt of the document.
    """


def excerpt(value: object, limit: int = 40) -> str:
    """A short, single-line rendering of a policy fragment for an error message."""
    text = value if isinstance(value, str) else repr(value)
    text = text.replace("\n", " ").replace("\r", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."
