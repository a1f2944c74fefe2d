"""Text no database can store: NUL characters and unpaired UTF-16 surrogates.

PostgreSQL refuses NUL in text and both databases refuse strings that are not valid
UTF-8, with an error at insert time (a 500). Every request's text is checked here first:
forms, query strings and URL parts by ``daydream.security``, JSON bodies by
``daydream.api.common.json_body``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MESSAGE = "{field} contains a character that cannot be stored (a NUL or an unpaired surrogate)."


def storable(text: str) -> bool:
    """Whether ``text`` can be stored: valid UTF-8 and no NUL."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def first_unstorable(value: Any, field: str = "body") -> str | None:
    """The name of the first field holding unstorable text in a JSON value (keys included).

    Walks with its own stack: a deeply nested body must not exhaust Python's recursion.
    """
    pending: list[tuple[Any, str]] = [(value, field)]
    while pending:
        item, name = pending.pop()
        if isinstance(item, str):
            if not storable(item):
                return name
        elif isinstance(item, dict):
            for key, child in item.items():
                if not storable(str(key)):
                    return name
                pending.append((child, str(key) if name == "body" else f"{name}.{key}"))
        elif isinstance(item, list):
            pending.extend((child, f"{name}[{index}]") for index, child in enumerate(item))
    return None


def first_unstorable_pair(pairs: Iterable[tuple[str, str]]) -> str | None:
    """The first name in ``(name, text)`` pairs (a form, a query) whose name or text is bad."""
    for name, text in pairs:
        if not storable(name):
            return "a field name"
        if not storable(text):
            return name
    return None
