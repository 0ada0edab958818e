"""Message composition: a template in crmcore's placeholder language, tailored by a contact's facts.

Templates are parsed once (``crmcore.placeholders``; cached per text) and
rendered by concatenation: no user text reaches ``str.format`` or a template
engine. The plain merge fields ({first_name}, {last_name}, {full_name},
{company}, {email}, {region}, {segment}) are crmcore's; this capability adds
{last_purchase}, {next_product}, {best_channel}, {best_time} and
{personal_note} (``MERGE_FIELDS``, registered from ``AppConfig.ready()``).
Each of those may be empty, so a template gives it a fallback
({next_product|our Analytics add-on}) or puts it in an optional sentence
([Since your last order of {last_purchase}, we have improved a lot.]).

Where personalization is on for the user they are filled from the contact's
facts, and the personal note (a line written from the contact's own history
for the campaign's goal, with help and an apology first after a complaint)
goes where {personal_note} stands, or after the greeting when the template
has none. Where it is off they have no value: a plain mail merge, with the
author's fallbacks and without the optional sentences.

Every message lists the fallbacks it used and the sentences it left out
(with its unused facts), and is checked as a finished message
(``crmcore.placeholders.message_problems``): a message with a problem is
marked with the reasons and cannot be approved or sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ai_features import gate
from ai_features.capabilities.personalization.facts import (
    CHANNEL_LABELS,
    Access,
    ContactFacts,
    ContactRow,
    days_phrase,
)
from crmcore import placeholders
from crmcore.extensions import MergeField
from crmcore.placeholders import TemplateError

PLAIN_PLACEHOLDERS = tuple(f.key for f in placeholders.CORE_FIELDS)


def _personalization_visible(request) -> bool:
    return gate.is_enabled("personalization", request.user, request.workspace)


MERGE_FIELDS = (
    MergeField(
        "last_purchase",
        "Last purchase",
        may_be_empty=True,
        help="The product of their latest order.",
        visible=_personalization_visible,
    ),
    MergeField(
        "next_product",
        "Next product",
        may_be_empty=True,
        help="The product they most likely need next (from Prediction).",
        visible=_personalization_visible,
    ),
    MergeField(
        "best_channel",
        "Best channel",
        may_be_empty=True,
        help="The channel they answer most.",
        max_length=40,
        visible=_personalization_visible,
    ),
    MergeField(
        "best_time",
        "Best time",
        may_be_empty=True,
        help="The hour they answer most, as 14:00.",
        max_length=5,
        visible=_personalization_visible,
    ),
    MergeField(
        "personal_note",
        "Personal note",
        may_be_empty=True,
        help="A line written from their own history for the campaign's goal.",
        max_length=2000,
        visible=_personalization_visible,
    ),
)
AI_PLACEHOLDERS = tuple(f.key for f in MERGE_FIELDS)
PLACEHOLDERS = PLAIN_PLACEHOLDERS + AI_PLACEHOLDERS

GOALS = ("win_back", "cross_sell", "thank", "check_in")
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_GREETING_MAX = 80
#: The unused fact a placeholder's missing value belongs to.
_FACT_OF = {
    "last_purchase": "last_order",
    "next_product": "next_product",
    "best_channel": "best_channel",
    "best_time": "best_channel",
}

__all__ = ["TemplateError", "compose", "compose_reply", "template_check"]


def template_check(template: str) -> None:
    """Raise TemplateError (with its line and column) at a body template's first problem."""
    problems = placeholders.template_problems(template)
    if problems:
        raise problems[0]


def parsed(template: str, *, subject: bool = False) -> placeholders.Template:
    """The tree of a template, read once per text (a TemplateError is not cached)."""
    limit = (
        placeholders.SUBJECT_TEMPLATE_MAX_LENGTH
        if subject
        else placeholders.template_settings.TEMPLATE_MAX_LENGTH
    )
    return _parsed(template, limit)


@lru_cache(maxsize=256)
def _parsed(template: str, limit: int) -> placeholders.Template:
    return placeholders.parse(template, max_length=limit)


def _labels() -> dict[str, str]:
    return {key: f.label for key, f in placeholders.merge_fields().items()}


def render_notes(
    results: list[placeholders.Rendered], unused: list[dict[str, str]]
) -> list[dict[str, str]]:
    """``unused`` with the fallbacks and left-out sentences of ``results`` added, per fact."""
    labels = _labels()
    out = [dict(u) for u in unused]
    by_key = {u["key"]: u for u in out}

    def note(name: str, text: str) -> None:
        key = _FACT_OF.get(name, name)
        entry = by_key.get(key)
        if entry is None:
            entry = {"key": key, "label": labels.get(name, name), "reason": "no value"}
            by_key[key] = entry
            out.append(entry)
        entry["reason"] = f"{entry['reason']}; {text}"

    for result in results:
        for name, fallback in result.fallbacks:
            note(name, f"fallback “{fallback}” used")
        for source, missing in result.left_out:
            note(missing[0], f"sentence left out: “{' '.join(source.split())}”")
    return out


@dataclass(frozen=True)
class Composed:
    """A message for one contact, with the facts it used and what it could not use."""

    contact_id: int
    subject: str
    body: str
    personalized: bool
    facts: list[dict[str, str]] = field(default_factory=list)
    unused: list[dict[str, str]] = field(default_factory=list)
    channel: str = ""
    best_hour: int | None = None
    apology_first: bool = False
    #: Why the message may not be sent (``crmcore.placeholders.message_problems``).
    problems: tuple[str, ...] = ()

    @property
    def problem_list(self) -> list[str]:
        return list(self.problems)

    def fact_lines(self) -> list[str]:
        return [f"{f['label']}: {f['text']}" for f in self.facts]

    def unused_lines(self) -> list[str]:
        return [f"{u['label']}: not used — {u['reason']}" for u in self.unused]

    def as_dict(self) -> dict[str, Any]:
        return {
            "contact": self.contact_id,
            "subject": self.subject,
            "body": self.body,
            "personalized": self.personalized,
            "facts": self.fact_lines(),
            "unused": self.unused_lines(),
            "channel": self.channel,
            "best_hour": self.best_hour,
            "apology_first": self.apology_first,
            "problems": list(self.problems),
        }


def _hour(hour: int) -> str:
    return f"{hour:02d}:00"


def _channel(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel).lower()


def _quote(subject: str) -> str:
    return f" (“{subject}”)" if subject else ""


class _Facts:
    """Collects the facts a message uses, in the order they are used."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, str]] = {}

    def use(self, key: str, label: str, text: str) -> None:
        self.items.setdefault(key, {"key": key, "label": label, "text": text})


def _next_text(f: ContactFacts) -> str:
    """The next-need fact as a message lists it: the product and prediction's reason."""
    reason = f" — {f.next_reason}" if f.next_reason else ""
    return f"{f.next_product} (from Prediction{reason})"


def _apology(f: ContactFacts) -> str:
    c = f.complaint
    return (
        f"I'm sorry about the trouble in your {_channel(c.channel)} {days_phrase(c.days_ago)}"
        f"{_quote(c.subject)}. Before anything else: reply to this message and we will put it "
        "right first."
    )


def _goal_lines(
    goal: str, f: ContactFacts, used: _Facts, *, help_first: bool, order_in_template: bool = False
) -> list[str]:
    product, days = f.last_product, f.last_order_days
    if product is not None:
        used.use("last_order", "Last order", f"{product}, {days_phrase(days)}")
    offer = f.next_product if not help_first else None
    if offer:
        used.use("next_product", "Next product", _next_text(f))
    lines: list[str] = []
    last = f.last_interaction
    if goal == "win_back":
        if product and not order_in_template:
            lines.append(
                f"It has been a while since your order of {product} {days_phrase(days)}, "
                "and we would love to welcome you back."
            )
        else:
            lines.append("We would love to welcome you back.")
        if offer:
            lines.append(f"{offer} could be a good next step for you.")
    elif goal == "cross_sell":
        if product and offer:
            lines.append(f"As you already use {product}, {offer} is a natural next step.")
        elif product:
            lines.append(
                f"As you already use {product}, we would like to show you what works well with it."
            )
        elif offer:
            lines.append(f"We think {offer} could help you.")
        if help_first:
            lines.append("Once that is settled, we would be glad to show you more.")
    elif goal == "thank":
        if product:
            lines.append(f"Thank you for your order of {product} {days_phrase(days)}.")
        else:
            lines.append("Thank you for being with us.")
    elif product:
        lines.append(f"How is {product} working for you since your order {days_phrase(days)}?")
    elif last is not None:
        used.use(
            "last_interaction",
            "Last interaction",
            f"{CHANNEL_LABELS.get(last.channel, last.channel)}, {days_phrase(last.days_ago)}"
            f"{_quote(last.subject)}",
        )
        lines.append(
            f"Following up on your {_channel(last.channel)} {days_phrase(last.days_ago)}"
            f"{_quote(last.subject)}: how are things going?"
        )
    else:
        lines.append("How are things going?")
    return lines


def _reach(f: ContactFacts, used: _Facts) -> str:
    if f.best_channel is None:
        return ""
    used.use(
        "best_channel",
        "Answers most by",
        f"{CHANNEL_LABELS.get(f.best_channel, f.best_channel)} "
        f"({f.best_channel_count} of {f.inbound_count} inbound)",
    )
    used.use(
        "best_time",
        "Best time to reach",
        f"{_hour(f.best_hour)} to {_hour((f.best_hour + 1) % 24)} "
        f"({f.best_hour_count} of {f.inbound_count} inbound)",
    )
    if f.best_channel in ("call", "meeting"):
        return f"If it suits you better, we can call you around {_hour(f.best_hour)}."
    if f.best_channel == "chat":
        return "You can also reply in chat, as you usually do."
    return ""


def personal_note(
    goal: str, f: ContactFacts, access: Access, *, order_in_template: bool = False
) -> tuple[str, _Facts, bool]:
    """(note, facts used, apology first) for one contact and goal.

    ``order_in_template``: the author's template speaks of the last order itself
    ({last_purchase}), so the note does not say it a second time.
    """
    used = _Facts()
    lines: list[str] = []
    help_first = f.complaint is not None
    if access.sentiment and f.recent_tone is not None:
        c = f.complaint
        used.use(
            "tone",
            "Recent tone",
            (
                f"{f.complaint_tone} in their {_channel(c.channel)} "
                f"{days_phrase(c.days_ago)}{_quote(c.subject)} — help and apology first"
                if c
                else f"{f.recent_tone} (latest inbound message) — usual wording"
            ),
        )
    if help_first:
        lines.append(_apology(f))
    lines.extend(
        _goal_lines(goal, f, used, help_first=help_first, order_in_template=order_in_template)
    )
    reach = _reach(f, used)
    if reach:
        lines.append(reach)
    return " ".join(lines), used, help_first


def _unused(f: ContactFacts, *, help_first: bool = False) -> list[dict[str, str]]:
    out = []
    if f.last_product is None:
        out.append({"key": "last_order", "label": "Last order", "reason": "no orders yet"})
    if help_first and f.next_product:
        out.append(
            {
                "key": "next_product",
                "label": "Next product",
                "reason": "held back: help comes first after a complaint",
            }
        )
    if "prediction" in f.unavailable:
        out.append(
            {"key": "next_product", "label": "Next product", "reason": f.unavailable["prediction"]}
        )
    if "sentiment" in f.unavailable:
        out.append({"key": "tone", "label": "Recent tone", "reason": f.unavailable["sentiment"]})
    if f.best_channel is None:
        out.append(
            {
                "key": "best_channel",
                "label": "Best channel and time",
                "reason": "no inbound messages",
            }
        )
    return out


def _insert_note(body: str, note: str) -> str:
    if not note:
        return body
    paragraphs = body.split("\n\n")
    if len(paragraphs) > 1 and len(paragraphs[0].strip()) <= _GREETING_MAX:
        return "\n\n".join([paragraphs[0], note, *paragraphs[1:]])
    if len(paragraphs) == 1 and "\n" in body and len(body.split("\n", 1)[0]) <= _GREETING_MAX:
        head, rest = body.split("\n", 1)
        return f"{head}\n\n{note}\n\n{rest}"
    return f"{note}\n\n{body}" if body.strip() else note


def _tidy(text: str) -> str:
    return _BLANK_LINES.sub("\n\n", text).strip()


def _fill(
    subject_template: str, body_template: str, values: dict[str, str]
) -> tuple[placeholders.Rendered, placeholders.Rendered, set[str]] | str:
    """(subject, body, names in the body), or the template problem that stops rendering."""
    try:
        subject_tree = parsed(subject_template, subject=True)
    except TemplateError as exc:
        return f"Subject template: {exc}"
    try:
        body_tree = parsed(body_template)
    except TemplateError as exc:
        return f"Body template: {exc}"
    subject = placeholders.render(
        subject_tree,
        values,
        single_line=True,
        max_length=placeholders.SUBJECT_TEMPLATE_MAX_LENGTH,
    )
    return subject, placeholders.render(body_tree, values), body_tree.names()


def compose(
    *,
    goal: str,
    subject_template: str,
    body_template: str,
    contact: ContactRow,
    facts: ContactFacts | None,
    access: Access,
) -> Composed:
    """The message for one contact (pure: no query), checked as a finished message."""
    values = {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "full_name": contact.full_name,
        "company": contact.company,
        "email": contact.email,
        "region": contact.region,
        "segment": contact.segment,
    }
    personalized = access.personalization and facts is not None
    note, used, apology = "", None, False
    if personalized:
        try:
            in_template = "last_purchase" in parsed(body_template).names()
        except TemplateError:
            in_template = False
        note, used, apology = personal_note(goal, facts, access, order_in_template=in_template)
        values.update(
            last_purchase=facts.last_product or "",
            next_product=(facts.next_product or "") if not apology else "",
            best_channel=_channel(facts.best_channel) if facts.best_channel else "",
            best_time=_hour(facts.best_hour) if facts.best_hour is not None else "",
            personal_note=note,
        )
    unused = _unused(facts, help_first=apology) if personalized else []
    filled = _fill(subject_template, body_template, values)
    if isinstance(filled, str):
        # A template saved before the language's rules: nothing is rendered, nothing sent.
        subject_text, body_text, problems = "", "", [filled]
    else:
        subject, body, names = filled
        body_text = body.text
        if personalized and "personal_note" not in names:
            body_text = _insert_note(body_text, note)
        subject_text, body_text = subject.text.strip(), _tidy(body_text)
        unused = render_notes([subject, body], unused)
        problems = placeholders.message_problems(subject=subject_text, body=body_text)
        if body.truncated:
            problems.insert(0, "Body: cut at the length limit.")
    return Composed(
        contact_id=contact.contact_id,
        subject=subject_text,
        body=body_text,
        personalized=personalized,
        facts=list(used.items.values()) if used is not None else [],
        unused=unused,
        channel=(facts.best_channel or "email") if personalized else "email",
        best_hour=facts.best_hour if personalized else None,
        apology_first=apology,
        problems=tuple(problems),
    )


def compose_reply(
    *, contact: ContactRow, facts: ContactFacts, access: Access, inbound, signature: str
) -> Composed:
    """A suggested reply to ``inbound`` (an Interaction), tailored the same way."""
    used = _Facts()
    lines = [f"Hi {contact.first_name}," if contact.first_name else "Hello,"]
    tone = facts.recent_tone if access.sentiment else None
    # An apology only when the message answered is the complaint itself (not an older one).
    complaint = (
        access.sentiment
        and facts.complaint is not None
        and facts.complaint.occurred_at >= inbound.occurred_at
    )
    about = _quote(inbound.subject)
    if complaint:
        used.use(
            "tone",
            "Recent tone",
            f"{facts.complaint_tone} in their {_channel(facts.complaint.channel)} "
            f"{days_phrase(facts.complaint.days_ago)} — help and apology first",
        )
        lines.append(
            f"I'm sorry about the trouble{about}. I'm on it now and will come back to you "
            "with a fix as soon as possible."
        )
    else:
        if tone is not None:
            used.use("tone", "Recent tone", f"{tone} (latest inbound message) — usual wording")
        lines.append(f"Thank you for your {_channel(inbound.channel)}{about}.")
    body_lines: list[str] = []
    if facts.last_product:
        used.use(
            "last_order",
            "Last order",
            f"{facts.last_product}, {days_phrase(facts.last_order_days)}",
        )
        body_lines.append(
            f"I have your order of {facts.last_product} from {days_phrase(facts.last_order_days)} "
            "in front of me."
        )
    if facts.next_product and not complaint:
        used.use("next_product", "Next product", _next_text(facts))
        body_lines.append(f"When it suits you, I'd also like to show you {facts.next_product}.")
    reach = _reach(facts, used)
    if reach:
        body_lines.append(reach)
    if body_lines:
        lines.append(" ".join(body_lines))
    lines.append(f"Best regards,\n{signature}" if signature else "Best regards")
    return Composed(
        contact_id=contact.contact_id,
        subject=f"Re: {inbound.subject}" if inbound.subject else "Re: your message",
        body="\n\n".join(lines),
        personalized=True,
        facts=list(used.items.values()),
        unused=_unused(facts, help_first=complaint),
        channel=inbound.channel,
        best_hour=facts.best_hour,
        apology_first=complaint,
    )
