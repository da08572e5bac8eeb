"""Generated sections inside hand-written docs: the text between a BEGIN and an END marker line."""

from __future__ import annotations


def replace_section(document: str, section: str, begin: str, end: str) -> str:
    """The document with the section between `begin` and `end` (markers included in `section`)
    replaced, or the section appended when the document has no such markers yet."""
    if begin in document and end in document:
        head, rest = document.split(begin, 1)
        return head + section + rest.split(end, 1)[1]
    return document.rstrip("\n") + "\n\n" + section + "\n"
