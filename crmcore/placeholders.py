"""The placeholder language of campaign templates, and the checks of a finished message.

A template is text with three constructs:

* ``{first_name}``: a placeholder, replaced by the contact's value.
* ``{next_product|our Analytics add-on}``: a placeholder with a fallback, the
  author's own words used where the contact has no value.
* ``[Since your last order of {last_purchase}, we have improved a lot.]``: an
  optional sentence, left out whole when a placeholder inside it (one without
  a fallback) has no value.

``{{``, ``}}``, ``[[`` and ``]]`` stand for a literal ``{``, ``}``, ``[`` and
``]``; a doubled character is always literal, inside an optional sentence
too. A placeholder ends on the line it starts; optional sentences do not nest
and hold at least one placeholder; a fallback is plain text (no braces,
brackets or ``|``). Names are letters, digits and underscores.

A template is parsed once, by the hand-written tokenizer below, into a small
tree (``Text``, ``Placeholder``, ``OptionalSentence``). Nothing of it ever
reaches ``str.format`` or a template engine: rendering only concatenates
text and values. Every problem is a ``TemplateError`` naming its line and
column. ``validate_template`` adds the rules that make a template safe to
save: every name is known (crmcore's ``CORE_FIELDS`` and the names other apps
register in ``crmcore.extensions.merge_fields``), a name that may be empty
has a fallback or stands in an optional sentence, the template is no longer
than ``CRMCORE_TEMPLATE_MAX_LENGTH`` and what it can render no longer than
``CRMCORE_MESSAGE_MAX_LENGTH`` (``render`` stops there whatever it is given).

``message_problems`` checks a finished message (after rendering, or after a
person edited it): no placeholder left, no empty brackets or quotes, no
doubled spaces or punctuation, no sentence starting in lower case, no empty
paragraph, a subject that is there and not too long.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from crmcore import extensions
from crmcore.conf import AppSettings
from crmcore.extensions import MergeField


class TemplateSettings(AppSettings):
    """Bounds of campaign templates (``CRMCORE_<NAME>``, from settings or the environment)."""

    prefix = "CRMCORE_"

    #: Characters of a body template (a subject template is bounded by its column, 250).
    TEMPLATE_MAX_LENGTH: int = 10_000
    #: Characters a rendered body may have.
    MESSAGE_MAX_LENGTH: int = 20_000
    #: Characters a rendered subject may have.
    SUBJECT_MAX_LENGTH: int = 150


template_settings = TemplateSettings()
SYNTAX_SUMMARY = (
    "Placeholders: {first_name}; with a fallback for contacts with no value: "
    "{next_product|our Analytics add-on}; an optional sentence, left out when a placeholder "
    "in it has no value: [Since your last order of {last_purchase}, we have improved a lot.]. "
    "{{ }} [[ ]] are literal braces and brackets. A problem is answered with its line and column."
)
SUBJECT_TEMPLATE_MAX_LENGTH = 250
NAME_MAX_LENGTH = 40
#: At most this many problems are reported for one template.
MAX_PROBLEMS = 20

CORE_FIELDS: tuple[MergeField, ...] = (
    MergeField("first_name", "First name", help="The contact's first name.", max_length=100),
    MergeField(
        "last_name", "Last name", may_be_empty=True, help="Their last name.", max_length=100
    ),
    MergeField("full_name", "Full name", help="First and last name.", max_length=201),
    MergeField("company", "Company", may_be_empty=True, help="Their account's name."),
    MergeField("email", "Email", may_be_empty=True, help="Their email address.", max_length=254),
    MergeField("region", "Region", may_be_empty=True, help="Their region.", max_length=50),
    MergeField("segment", "Segment", may_be_empty=True, help="Their segment.", max_length=50),
)


def merge_fields() -> dict[str, MergeField]:
    """Every name a template may use: crmcore's own, then those other apps registered."""
    fields = {f.key: f for f in CORE_FIELDS}
    for item in extensions.merge_fields:
        fields.setdefault(item.key, item)
    return fields


def visible_fields(request) -> list[MergeField]:
    """The merge fields the builder pages list for this user (the others are still valid)."""
    return [f for f in merge_fields().values() if f.visible(request)]


# -- the tree ------------------------------------------------------------------


class TemplateError(ValueError):
    """A problem in a template, at a line and column (both counted from 1)."""

    def __init__(self, message: str, *, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        return f"Line {self.line}, column {self.column}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "text": str(self),
        }


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Placeholder:
    name: str
    fallback: str | None
    line: int
    column: int


@dataclass(frozen=True)
class OptionalSentence:
    parts: tuple[Text | Placeholder, ...]
    #: The sentence as written, without its brackets (for "left out: ..." notes).
    source: str
    line: int
    column: int


Node = Text | Placeholder | OptionalSentence


@dataclass(frozen=True)
class Template:
    parts: tuple[Node, ...]

    def placeholders(self) -> Iterator[tuple[Placeholder, bool]]:
        """Every placeholder, with whether it stands in an optional sentence."""
        for node in self.parts:
            if isinstance(node, Placeholder):
                yield node, False
            elif isinstance(node, OptionalSentence):
                for part in node.parts:
                    if isinstance(part, Placeholder):
                        yield part, True

    def names(self) -> set[str]:
        return {p.name for p, _ in self.placeholders()}


# -- the tokenizer and parser ----------------------------------------------------

_SPECIAL = re.compile(r"[{}\[\]]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PLACEHOLDER_STOP = re.compile(r"[{}\[\]\n]")


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _shown(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text

    def fail(self, message: str, offset: int) -> TemplateError:
        line, column = _position(self.text, offset)
        return TemplateError(message, line=line, column=column)

    def parse(self) -> Template:
        text, n = self.text, len(self.text)
        top: list[Node] = []
        current: list[Any] = top
        buf: list[str] = []
        opened = -1  # offset of the open optional sentence's "[", or -1
        i = 0

        def flush() -> None:
            if buf:
                current.append(Text("".join(buf)))
                buf.clear()

        while i < n:
            match = _SPECIAL.search(text, i)
            if match is None:
                buf.append(text[i:])
                break
            j = match.start()
            if j > i:
                buf.append(text[i:j])
            char = text[j]
            doubled = j + 1 < n and text[j + 1] == char
            if doubled:
                buf.append(char)
                i = j + 2
            elif char == "{":
                flush()
                placeholder, i = self.placeholder(j)
                current.append(placeholder)
            elif char == "}":
                raise self.fail(
                    "A } with no { before it: write }} for a brace, or open a placeholder with {.",
                    j,
                )
            elif char == "[":
                if opened >= 0:
                    raise self.fail(
                        "Optional sentences do not nest: close the one opened at "
                        f"line {_position(text, opened)[0]}, column "
                        f"{_position(text, opened)[1]} first, or write [[ for a bracket.",
                        j,
                    )
                flush()
                opened, current, i = j, [], j + 1
            else:  # "]"
                if opened < 0:
                    raise self.fail(
                        "A ] with no [ before it: write ]] for a bracket, "
                        "or open an optional sentence with [.",
                        j,
                    )
                flush()
                parts = tuple(current)
                if not any(isinstance(p, Placeholder) for p in parts):
                    raise self.fail(
                        "An optional sentence needs a placeholder that decides whether it is "
                        "shown: write [[ and ]] for brackets.",
                        opened,
                    )
                line, column = _position(text, opened)
                top.append(
                    OptionalSentence(
                        parts=parts, source=text[opened + 1 : j], line=line, column=column
                    )
                )
                current, opened, i = top, -1, j + 1
        if opened >= 0:
            raise self.fail(
                "This optional sentence is not closed: end it with ], or write [[ for a bracket.",
                opened,
            )
        flush()
        return Template(parts=tuple(top))

    def placeholder(self, start: int) -> tuple[Placeholder, int]:
        text = self.text
        stop = _PLACEHOLDER_STOP.search(text, start + 1)
        if stop is None or text[stop.start()] != "}":
            raise self.fail(
                "This placeholder is not closed: end it with } on the same line, "
                "or write {{ for a brace.",
                start,
            )
        end = stop.start()
        content = text[start + 1 : end]
        raw_name, bar, raw_fallback = content.partition("|")
        name = raw_name.strip()
        if not name:
            raise self.fail(
                "A placeholder needs a name before |, as in {next_product|our add-on}."
                if bar
                else "An empty placeholder: write a name such as {first_name}, or {{ for a brace.",
                start,
            )
        if len(name) > NAME_MAX_LENGTH or not _NAME.fullmatch(name):
            raise self.fail(
                f"“{_shown(name)}” is not a placeholder name: names are letters, digits and "
                "underscores, such as {first_name}.",
                start,
            )
        fallback = None
        if bar:
            fallback = raw_fallback.strip()
            if not fallback:
                raise self.fail(
                    f"The fallback of {{{name}}} is empty: write the words to use when there is "
                    f"no value, as in {{{name}|your team}}.",
                    start,
                )
            if "|" in fallback:
                raise self.fail(
                    f"A placeholder takes one fallback, after one |: {{{name}|words}}.", start
                )
        line, column = _position(text, start)
        return Placeholder(name=name, fallback=fallback, line=line, column=column), end + 1


def _normalise(source: str) -> str:
    return source.replace("\r\n", "\n").replace("\r", "\n")


def parse(source: str, *, max_length: int | None = None) -> Template:
    """The tree of ``source``, or a TemplateError at the first problem of syntax."""
    if not isinstance(source, str):
        raise TemplateError("A template is text.")
    text = _normalise(source)
    limit = template_settings.TEMPLATE_MAX_LENGTH if max_length is None else max_length
    if len(text) > limit:
        line, column = _position(text, limit)
        raise TemplateError(
            f"The template is {len(text):,} characters long; the limit is {limit:,}.",
            line=line,
            column=column,
        )
    control = _CONTROL.search(text)
    if control is not None:
        line, column = _position(text, control.start())
        raise TemplateError(
            f"A control character (U+{ord(control.group()):04X}) cannot be in a template.",
            line=line,
            column=column,
        )
    return _Parser(text).parse()


# -- validation ------------------------------------------------------------------


def _unknown(name: str, fields: Mapping[str, MergeField]) -> str:
    close = difflib.get_close_matches(name.lower(), list(fields), n=1, cutoff=0.6)
    if close:
        return f"Unknown placeholder {{{name}}}: did you mean {{{close[0]}}}?"
    known = ", ".join("{" + k + "}" for k in fields)
    return f"Unknown placeholder {{{name}}}. Known: {known}."


def template_problems(
    source: str,
    *,
    subject: bool = False,
    fields: Mapping[str, MergeField] | None = None,
) -> list[TemplateError]:
    """Every problem that stops ``source`` from being saved (empty: it may be saved).

    A problem of syntax stops the reading: it is the only one reported.
    """
    template_limit = (
        SUBJECT_TEMPLATE_MAX_LENGTH if subject else template_settings.TEMPLATE_MAX_LENGTH
    )
    try:
        template = parse(source, max_length=template_limit)
    except TemplateError as exc:
        return [exc]
    fields = merge_fields() if fields is None else fields
    problems: list[TemplateError] = []
    if subject and "\n" in _normalise(source):
        line, column = _position(_normalise(source), _normalise(source).index("\n"))
        problems.append(TemplateError("A subject is one line.", line=line, column=column))
    worst = 0
    output_limit = (
        template_settings.SUBJECT_MAX_LENGTH if subject else template_settings.MESSAGE_MAX_LENGTH
    )
    too_long: TemplateError | None = None
    for node in template.parts:
        parts = node.parts if isinstance(node, OptionalSentence) else (node,)
        for part in parts:
            if isinstance(part, Text):
                worst += len(part.text)
                continue
            known = fields.get(part.name)
            worst += max(known.max_length if known else 0, len(part.fallback or ""))
            if too_long is None and worst > output_limit and not subject:
                too_long = TemplateError(
                    f"With long values this template could make a message of more than "
                    f"{output_limit:,} characters, the limit.",
                    line=part.line,
                    column=part.column,
                )
    for placeholder, optional in template.placeholders():
        known = fields.get(placeholder.name)
        where = {"line": placeholder.line, "column": placeholder.column}
        if known is None:
            problems.append(TemplateError(_unknown(placeholder.name, fields), **where))
        elif known.may_be_empty and placeholder.fallback is None and not optional:
            name = placeholder.name
            problems.append(
                TemplateError(
                    f"{{{name}}} ({known.label.lower()}) is empty for some contacts: give it a "
                    f"fallback, as in {{{name}|your words}}, or put it in an optional sentence "
                    f"in [ ].",
                    **where,
                )
            )
    if too_long is not None:
        problems.append(too_long)
    return problems[:MAX_PROBLEMS]


def validate_template(value: str, *, subject: bool = False) -> str:
    """Raise a Django ValidationError listing the template's problems; else return it."""
    problems = template_problems(value, subject=subject)
    if problems:
        raise ValidationError([str(p) for p in problems], code="template")
    return value


def validate_subject_template(value: str) -> str:
    return validate_template(value, subject=True)


def validate_body_template(value: str) -> str:
    return validate_template(value, subject=False)


def campaign_template_errors(*, subject_template: str, body_template: str) -> dict[str, list[str]]:
    """{field: [problem, ...]} for a campaign's two templates (empty: both may be saved)."""
    errors = {}
    for name, value, subject in (
        ("subject_template", subject_template, True),
        ("body_template", body_template, False),
    ):
        problems = template_problems(value or "", subject=subject)
        if problems:
            errors[name] = [str(p) for p in problems]
    return errors


# -- rendering -------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    text: str
    #: (name, fallback) of each placeholder that had no value and used its fallback.
    fallbacks: tuple[tuple[str, str], ...] = ()
    #: (sentence as written, names with no value) of each optional sentence left out.
    left_out: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: Names that had no value and nothing to stand in (a template saved before a check).
    empty: tuple[str, ...] = ()
    #: The output reached its bound and was cut there.
    truncated: bool = False


def _clean(value: Any, *, limit: int, single_line: bool) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    text = text.strip()
    if single_line:
        text = " ".join(text.split())
    return text[:limit]


@dataclass
class _Output:
    limit: int
    parts: list[str] = field(default_factory=list)
    size: int = 0
    truncated: bool = False
    after_omission: bool = False

    def _tail(self) -> str:
        for part in reversed(self.parts):
            if part:
                return part[-1]
        return ""

    def _trim_right(self) -> None:
        while self.parts:
            trimmed = self.parts[-1].rstrip(" \t")
            self.size -= len(self.parts[-1]) - len(trimmed)
            self.parts[-1] = trimmed
            if trimmed:
                return
            self.parts.pop()

    def _trailing_newlines(self) -> int:
        joined = "".join(self.parts[-3:])
        return len(joined) - len(joined.rstrip("\n"))

    def omit(self) -> None:
        self.after_omission = True

    def add(self, piece: str) -> None:
        if not piece or self.truncated:
            return
        if self.after_omission:
            # The space around a left-out sentence goes with it.
            tail = self._tail()
            if tail in ("", " ", "\t", "\n"):
                piece = piece.lstrip(" \t")
            if piece[:1] == "\n":
                self._trim_right()
                # A sentence that stood alone on its line or paragraph takes its break along.
                lead = len(piece) - len(piece.lstrip("\n"))
                piece = piece[min(lead, self._trailing_newlines()) :]
                if not self.parts:
                    piece = piece.lstrip("\n")
            if not piece:
                return
            self.after_omission = False
        if piece[0] == "." and piece[:2] != ".." and self._tail() == ".":
            # A value that ends a sentence itself ("Robles B.V.") takes the template's period.
            piece = piece[1:]
            if not piece:
                return
        room = self.limit - self.size
        if len(piece) > room:
            piece, self.truncated = piece[:room], True
        self.parts.append(piece)
        self.size += len(piece)

    def finish(self) -> str:
        if self.after_omission:
            self._trim_right()
        return "".join(self.parts)


def render(
    template: Template,
    values: Mapping[str, Any],
    *,
    max_length: int | None = None,
    single_line: bool = False,
    fields: Mapping[str, MergeField] | None = None,
) -> Rendered:
    """``template`` filled with ``values`` (a missing or blank value has no value).

    Each value is cut to its merge field's ``max_length``; the output stops
    at ``max_length`` (``CRMCORE_MESSAGE_MAX_LENGTH`` by default).
    ``single_line`` folds the values' line breaks into spaces (for a subject).
    """
    fields = merge_fields() if fields is None else fields
    out = _Output(limit=template_settings.MESSAGE_MAX_LENGTH if max_length is None else max_length)
    fallbacks: list[tuple[str, str]] = []
    left_out: list[tuple[str, tuple[str, ...]]] = []
    empty: list[str] = []

    def value_of(placeholder: Placeholder) -> str:
        known = fields.get(placeholder.name)
        limit = known.max_length if known else 0
        return _clean(values.get(placeholder.name), limit=limit, single_line=single_line)

    def fill(placeholder: Placeholder) -> str:
        value = value_of(placeholder)
        if value:
            return value
        if placeholder.fallback is not None:
            fallbacks.append((placeholder.name, placeholder.fallback))
            return placeholder.fallback
        empty.append(placeholder.name)
        return ""

    for node in template.parts:
        if isinstance(node, Text):
            out.add(node.text)
        elif isinstance(node, Placeholder):
            out.add(fill(node))
        else:
            missing = tuple(
                p.name
                for p in node.parts
                if isinstance(p, Placeholder) and p.fallback is None and not value_of(p)
            )
            if missing:
                left_out.append((node.source, missing))
                out.omit()
                continue
            for part in node.parts:
                out.add(part.text if isinstance(part, Text) else fill(part))
    return Rendered(
        text=out.finish(),
        fallbacks=tuple(fallbacks),
        left_out=tuple(left_out),
        empty=tuple(empty),
        truncated=out.truncated,
    )


# -- checks of a finished message ------------------------------------------------

_LEFT_PLACEHOLDER = re.compile(r"\{\s*[A-Za-z_][A-Za-z0-9_]*\s*(?:\|[^{}\n]*)?\}")
_EMPTY_PAIR = re.compile(r"\(\s*\)|\[\s*\]|\{\s*\}|“\s*”|‘\s*’|«\s*»|\"\s*\"|''")  # noqa: RUF001
_DOUBLE_SPACE = re.compile(r"(?<=\S)[ \t]{2,}(?=\S)")
_SPACE_BEFORE_PUNCT = re.compile(r"(?<=\w)[ \t]+[,;:.!?](?=\s|$)")
_PUNCT = ",;:.!?"
_DOUBLE_PUNCT = re.compile(r"[,;:.!?][ \t]*[,;:.!?]")
_ELLIPSIS = re.compile(r"(?<!\.)\.\.\.(?!\.)")
_SENTENCE_START = re.compile(r"(?:^|[.!?][\"”’)]*\s+)[\"“‘(]*([a-z])")  # noqa: RUF001
_ABBREVIATIONS = frozenset(
    {
        "approx",
        "cf",
        "co",
        "corp",
        "dr",
        "etc",
        "inc",
        "jr",
        "ltd",
        "mr",
        "mrs",
        "ms",
        "no",
        "st",
        "vs",
    }
)
_PARAGRAPHS = re.compile(r"\n[ \t]*\n")


def _excerpt(text: str, start: int, end: int, width: int = 20) -> str:
    left = max(0, start - width)
    right = min(len(text), end + width)
    snippet = text[left:right].replace("\n", " ")
    return ("…" if left else "") + snippet + ("…" if right < len(text) else "")


def _double_punctuation(text: str) -> re.Match | None:
    masked = _ELLIPSIS.sub("…", text)
    for match in _DOUBLE_PUNCT.finditer(masked):
        pair = match.group().replace(" ", "").replace("\t", "")
        if pair in ("?!", "!?"):
            continue
        return match
    return None


def _abbreviation(before: str) -> bool:
    """Whether ``before`` (text up to a period) ends in an abbreviation: "B.V.", "e.g.", "Inc."."""
    words = before.split()
    if not words or not words[-1].endswith("."):
        return False
    word = words[-1][:-1].strip('"“‘(')  # noqa: RUF001
    return "." in word or len(word) == 1 or word.lower() in _ABBREVIATIONS


def _lower_start(text: str) -> int | None:
    for paragraph in _PARAGRAPHS.split(text):
        stripped = paragraph.strip()
        for match in _SENTENCE_START.finditer(stripped):
            before = stripped[: match.start(1)].rstrip(' \t"“‘(')  # noqa: RUF001
            if _abbreviation(before):
                continue
            return text.find(stripped) + match.start(1)
    return None


def text_problems(text: str, *, where: str) -> list[str]:
    """What reads wrong in ``text`` (a subject or a body), each with an excerpt."""
    problems = []
    checks = (
        (_LEFT_PLACEHOLDER.search(text), "a placeholder was left in"),
        (_EMPTY_PAIR.search(text), "empty brackets or quotes"),
        (_DOUBLE_SPACE.search(text), "a doubled space"),
        (_SPACE_BEFORE_PUNCT.search(text), "a space before punctuation"),
        (_double_punctuation(text), "doubled punctuation"),
    )
    for match, what in checks:
        if match is not None:
            problems.append(
                f"{where.capitalize()}: {what}: “{_excerpt(text, match.start(), match.end())}”."
            )
    lower = _lower_start(text)
    if lower is not None:
        problems.append(
            f"{where.capitalize()}: a sentence starts in lower case: "
            f"“{_excerpt(text, lower, lower + 1)}”."
        )
    return problems


def message_problems(
    *, subject: str, body: str, subject_max_length: int | None = None
) -> list[str]:
    """Every reason a finished message may not be sent (empty: it reads right)."""
    limit = (
        template_settings.SUBJECT_MAX_LENGTH if subject_max_length is None else subject_max_length
    )
    problems = []
    if not subject.strip():
        problems.append("Subject: empty.")
    elif len(subject) > limit:
        problems.append(f"Subject: {len(subject)} characters, more than {limit}.")
    if "\n" in subject:
        problems.append("Subject: more than one line.")
    problems.extend(text_problems(subject, where="subject"))
    if not body.strip():
        problems.append("Body: empty.")
    else:
        if len(body) >= template_settings.MESSAGE_MAX_LENGTH:
            problems.append(f"Body: {template_settings.MESSAGE_MAX_LENGTH:,} characters or more.")
        for number, paragraph in enumerate(_PARAGRAPHS.split(body.strip()), start=1):
            if not paragraph.strip(" \t\n" + _PUNCT + "()[]{}\"'“”‘’«»-–—"):  # noqa: RUF001
                problems.append(f"Body: paragraph {number} is empty.")
                break
        problems.extend(text_problems(body, where="body"))
    return problems
