"""Validators for text that must stay on one line.

Names (a person's, an organization's, an application's) are shown in places that are one
line by definition: email headers above all (an invitation's subject is "<inviter> invited
you to <organization>"), where a line break is either a header injection or, as Django
refuses it, an email that is never sent. So such text may hold any printable character of
any script, but no control character (C0, DEL, C1: CR, LF, NUL, ESC, NEL...) and no Unicode
line or paragraph separator. Works as a model field validator and in DRF serializer fields.
"""

from django.core.validators import RegexValidator

SINGLE_LINE_MESSAGE = "Must be a single line: no line breaks or control characters."

# Python's whitespace (str.isspace: what str.strip() removes, so what DRF trims) as explicit
# ranges, the same characters in Python's and ECMAScript's regex dialects (which differ on
# \s). tests/api/test_query_parameters.py checks it against str.isspace.
SPACE_CLASS = (
    r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028-\u2029\u202f\u205f\u3000"
)

# Unicode's control characters (category Cc: U+0000-001F, U+007F-009F) and its line and
# paragraph separators (Zl U+2028, Zp U+2029). A RegexValidator, so the OpenAPI schema carries
# it as the field's `pattern` (drf-spectacular turns \A and \Z into ^ and $) and clients and
# the fuzzer know what is refused.
# At least one character that is not a space: DRF trims a name before it checks it, so "   "
# is refused as blank, and the pattern says so.
_ANY = r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]"
_VISIBLE = rf"[^{SPACE_CLASS}\x00-\x1f\x7f-\x9f\u2028\u2029]"
single_line = RegexValidator(
    regex=rf"\A{_ANY}*{_VISIBLE}{_ANY}*\Z",
    message=SINGLE_LINE_MESSAGE,
    code="not_single_line",
)
