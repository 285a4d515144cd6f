"""Validators for text that must stay on one line.

Names (a person's, an organization's, an application's) are shown in places that are one
line by definition: email headers above all (an invitation's subject is "<inviter> invited
you to <organization>"), where a line break is either a header injection or, as Django
refuses it, an email that is never sent. So such text may hold any printable character of
any script, but no control character (C0, DEL, C1: CR, LF, NUL, ESC, NEL...) and no Unicode
line or paragraph separator. Works as a model field validator and in DRF serializer fields.
"""

import unicodedata

from django.core.exceptions import ValidationError

SINGLE_LINE_MESSAGE = "Must be a single line: no line breaks or control characters."
_REFUSED_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


def single_line(value: str) -> None:
    if any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in value):
        raise ValidationError(SINGLE_LINE_MESSAGE, code="not_single_line")
