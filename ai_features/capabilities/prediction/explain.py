"""Explanations of churn scores: factors in words, and an inline SVG bar chart.

The model is a logistic regression on standardized features, so a score's
log-odds is exactly ``intercept + sum(coef_i * z_i)``: each term is one
factor's contribution. Positive contributions raise the risk, negative ones
lower it; together with the intercept they add up to the score.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.html import escape

from ai_features.capabilities.prediction.conf import app_settings

PHRASES = {
    "orders_total": ("{n} order{s} in total", "No order yet"),
    "orders_90d": ("{n} order{s} in the last 90 days", "No order in the last 90 days"),
    "orders_prev_90d": ("{n} order{s} in the 90 days before", "No order in the 90 days before"),
    "spend_total": ("Spent {money} in total", "Nothing spent yet"),
    "spend_90d": ("Spent {money} in the last 90 days", "Nothing spent in the last 90 days"),
    "avg_order_value": ("Orders average {money}", "No order value yet"),
    "refunds": ("{n} refunded order{s}", "No refunded order"),
    "emails_90d": ("{n} email{s} in the last 90 days", "No email in the last 90 days"),
    "calls_90d": ("{n} call{s} in the last 90 days", "No call in the last 90 days"),
    "meetings_90d": ("{n} meeting{s} in the last 90 days", "No meeting in the last 90 days"),
    "chats_90d": ("{n} chat{s} in the last 90 days", "No chat in the last 90 days"),
    "tickets_90d": ("{n} ticket{s} in the last 90 days", "No ticket in the last 90 days"),
    "tickets_30d": ("{n} ticket{s} this month", "No ticket this month"),
    "negative_30d": (
        "{n} negative interaction{s} this month",
        "No negative interaction this month",
    ),
    "open_deals": ("{n} open deal{s}", "No open deal"),
    "won_deals": ("{n} won deal{s}", "No won deal"),
    "lost_deals": ("{n} lost deal{s}", "No lost deal"),
    # The deal win model's (deal_features.WIN_FEATURES).
    "deal_touches": (
        "{n} interaction{s} with the contact since the deal opened",
        "No interaction with the contact since the deal opened",
    ),
    "touches_14d": (
        "{n} interaction{s} with the contact in the last 14 days",
        "No interaction with the contact in the last 14 days",
    ),
    "touches_total": ("{n} interaction{s} with the contact in total", "No interaction yet"),
    "account_won_deals": (
        "{n} deal{s} won with this account before",
        "No deal won with this account before",
    ),
    "account_lost_deals": (
        "{n} deal{s} lost with this account before",
        "No deal lost with this account before",
    ),
    "products_owned": (
        "The contact already owns {n} product{s}",
        "The contact owns no product yet",
    ),
}
#: Stage names of the win model's stage factor ("stage=proposal").
DEAL_STAGES = {
    "lead": "Lead",
    "qualified": "Qualified",
    "proposal": "Proposal",
    "negotiation": "Negotiation",
}

#: What each built-in feature measures, for the model card.
FEATURE_LABELS = {
    "days_since_last_order": "Days since the last order",
    "orders_total": "Orders in total",
    "orders_90d": "Orders in the last 90 days",
    "orders_prev_90d": "Orders in the 90 days before",
    "order_trend": "Orders compared with the 90 days before",
    "spend_total": "Spend in total",
    "spend_90d": "Spend in the last 90 days",
    "avg_order_value": "Average order value",
    "refunds": "Refunded orders",
    "days_since_last_interaction": "Days since the last contact",
    "emails_90d": "Emails in the last 90 days",
    "calls_90d": "Calls in the last 90 days",
    "meetings_90d": "Meetings in the last 90 days",
    "chats_90d": "Chats in the last 90 days",
    "tickets_90d": "Tickets in the last 90 days",
    "tickets_30d": "Tickets in the last 30 days",
    "negative_30d": "Negative interactions in the last 30 days",
    "sentiment_90d": "Tone of the last 90 days",
    "open_deals": "Open deals",
    "won_deals": "Won deals",
    "lost_deals": "Lost deals",
    "tenure_days": "Time as a customer",
    "days_in_stage": "Days in the current stage",
    "deal_age_days": "Days since the deal opened",
    "amount_vs_usual": "Amount against the account's usual deal",
    "discount_percent": "Discount offered",
    "deal_touches": "Interactions with the contact since the deal opened",
    "touches_14d": "Interactions with the contact in the last 14 days",
    "touches_total": "Interactions with the contact in total",
    "days_since_touch": "Days since the last interaction with the contact",
    "tone_90d": "The contact's tone in the last 90 days",
    "owner_win_rate": "The owner's win rate",
    "account_won_deals": "Deals won with the account before",
    "account_lost_deals": "Deals lost with the account before",
    "products_owned": "Products the contact owns",
}
ACRONYMS = frozenset({"nps", "id", "sla", "arr", "mrr", "crm", "vat", "csat", "api", "sms"})
#: Attribute keys that hold amounts of money: shown with the currency.
MONEY_KEY = re.compile(r"charge|revenue|spend|price|amount|cost|fee|mrr|arr|value|total", re.I)
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
#: Category values that mean "none": "Plan: not none" reads "Has a plan".
NONE_VALUES = frozenset({"none", "no", "n/a", "na", "-"})
#: Recency at or past this many days is the cap (see ``features.MAX_DAYS``).
RECENCY_CAP = 730


def money(amount: float, currency: str | None = None) -> str:
    """An amount with the workspace currency: "$1,166", "1,166 CHF"."""
    code = str(currency or app_settings.CURRENCY).upper()
    symbol = CURRENCY_SYMBOLS.get(code)
    sign = "-" if amount < 0 else ""
    digits = f"{abs(amount):,.0f}"
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {code}"


def humanize(key: str) -> str:
    """An imported column name as words: "customer_since" -> "Customer since"."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key.strip())
    words = [w for w in re.split(r"[\s_\-.]+", text) if w]
    words = [w.upper() if w.lower() in ACRONYMS else w.lower() for w in words]
    if not words:
        return key
    first = words[0]
    return " ".join([first[:1].upper() + first[1:], *words[1:]])


def _span(days: float) -> str:
    n = round(days)
    if n < 60:
        return f"{n} day{'' if n == 1 else 's'}"
    months = round(days / 30.4375)
    if months < 36:
        return f"{months} months"
    years, rest = divmod(months, 12)
    return f"{years} years" + (f" {rest} month{'' if rest == 1 else 's'}" if rest else "")


def _month(days: float, as_of: dt.datetime | None) -> str:
    day = (as_of or timezone.now()).date() - dt.timedelta(days=round(days))
    return f"{day.day} {day:%b %Y}" if days < 60 else f"{day:%b %Y}"


def feature_label(name: str) -> str:
    """What a model column measures, in words (for the model card)."""
    if name in FEATURE_LABELS:
        return FEATURE_LABELS[name]
    column = name[5:] if name.startswith("attr:") else name
    if name.startswith("attr:") and name.endswith(" missing"):
        return f"{humanize(column[:-8])} not recorded"
    if name.endswith(" (yes/no)"):
        return f"{humanize(column[:-9])} (yes/no)"
    if name.endswith(" (days ago)"):
        return f"{humanize(column[:-11])} (days ago)"
    if "=" in column:
        key, _, value = column.partition("=")
        return f"{humanize(key)}: {value}"
    return humanize(column)


def describe(name: str, value: Any, *, as_of: dt.datetime | None = None) -> str:
    """A factor in words a rep understands, e.g. "Last order 94 days ago".

    ``as_of`` is when the features were taken (the score's time, default now):
    ages become dates from it ("Customer since Sep 2024 (27 months)").
    """
    if value is None:
        return f"{feature_label(name)}: unknown"
    v = float(value)
    n = round(v)
    s = "" if n == 1 else "s"
    if name == "days_since_last_order":
        if v >= RECENCY_CAP:
            return "No order in 2 years or more"
        return f"Last order {n} day{s} ago"
    if name == "days_since_last_interaction":
        if v >= RECENCY_CAP:
            return "No contact in 2 years or more"
        return f"Last contact {n} day{s} ago"
    if name == "order_trend":
        if n == 0:
            return "Orders steady over the last 90 days"
        word = "more" if n > 0 else "fewer"
        return f"{abs(n)} {word} order{'' if abs(n) == 1 else 's'} than the 90 days before"
    if name == "sentiment_90d":
        tone = "Positive" if v > 0.1 else "Negative" if v < -0.1 else "Neutral"
        return f"{tone} tone in the last 90 days ({v:+.2f})"
    if name.startswith("stage=") and name[6:] in DEAL_STAGES:
        return f"In {DEAL_STAGES[name[6:]]}" if v else f"Not in {DEAL_STAGES[name[6:]]}"
    if name == "days_in_stage":
        return f"In this stage for {_span(v)}"
    if name == "deal_age_days":
        return f"Open for {_span(v)}"
    if name == "days_since_touch":
        if v >= 365:
            return "No interaction with the contact in a year or more"
        return f"Last interaction with the contact {n} day{s} ago"
    if name == "tone_90d":
        tone = "Positive" if v > 0.1 else "Negative" if v < -0.1 else "Neutral"
        return f"{tone} tone from the contact in the last 90 days ({v:+.2f})"
    if name == "owner_win_rate":
        return f"The owner wins {round(100 * v)}% of their deals"
    if name == "discount_percent":
        return f"Discount of {round(v)}%" if v >= 0.5 else "No discount"
    if name == "amount_vs_usual":
        ratio = 2.0**v
        if 0.8 <= ratio <= 1.25:
            return "About the account's usual deal size"
        if ratio > 1:
            return f"{ratio:.1f} times the account's usual deal size"
        return f"{round(100 * ratio)}% of the account's usual deal size"
    if name == "tenure_days":
        if v < 1:
            return "New customer"
        return f"Customer since {_month(v, as_of)} ({_span(v)})"
    if name in PHRASES:
        some, none = PHRASES[name]
        if n == 0 and abs(v) < 0.5:
            return none
        return some.format(n=n, s=s, money=money(v))
    if not name.startswith("attr:") and "=" in name:
        column, _, category = name.partition("=")
        return f"{humanize(column)}: {category}" if v else f"{humanize(column)}: not {category}"
    if not name.startswith("attr:"):
        return f"{humanize(name)}: {v:g}"
    column = name[5:]
    if column.endswith(" missing"):
        key = humanize(column[:-8])
        return f"{key} not recorded" if v else f"{key} recorded"
    if column.endswith(" (yes/no)"):
        return f"{humanize(column[:-9])}: {'yes' if v >= 0.5 else 'no'}"
    if column.endswith(" (days ago)"):
        return f"{humanize(column[:-11])}: {_month(v, as_of)} ({_span(v)} ago)"
    if "=" in column:
        key, _, category = column.partition("=")
        label = humanize(key)
        if category.strip().lower() in NONE_VALUES:
            return f"No {label.lower()}" if v else f"Has a {label.lower()}"
        return f"{label}: {category}" if v else f"{label}: not {category}"
    if v > 600_000:  # a date attribute of a model trained before types, as its day number
        return f"{humanize(column)}: {dt.date.fromordinal(int(v)).isoformat()}"
    if MONEY_KEY.search(column):
        return f"{humanize(column)}: {money(v)}"
    return f"{humanize(column)}: {v:g}"


@dataclass(frozen=True)
class Factor:
    name: str
    value: Any
    contribution: float
    as_of: dt.datetime | None = None  # when the features were taken

    @property
    def text(self) -> str:
        return describe(self.name, self.value, as_of=self.as_of)

    @property
    def label(self) -> str:
        return feature_label(self.name)


@dataclass(frozen=True)
class Explanation:
    intercept: float
    factors: tuple[Factor, ...]  # the largest contributions, largest first
    rest: float  # sum of the other contributions
    log_odds: float

    @property
    def probability(self) -> float:
        return 1.0 / (1.0 + math.exp(-self.log_odds))

    @property
    def raising(self) -> list[Factor]:
        return [f for f in self.factors if f.contribution > 0]

    @property
    def lowering(self) -> list[Factor]:
        return [f for f in self.factors if f.contribution < 0]

    def as_dict(self) -> dict[str, Any]:
        def row(f: Factor) -> dict[str, Any]:
            # "feature" is the label the contact panel shows; "key" the model column.
            return {
                "feature": f.label,
                "key": f.name,
                "value": f.value,
                "text": f.text,
                "contribution": round(f.contribution, 6),
            }

        return {
            "intercept": round(self.intercept, 6),
            "log_odds": round(self.log_odds, 6),
            "raising": [row(f) for f in self.raising],
            "lowering": [row(f) for f in self.lowering],
            "other_factors": round(self.rest, 6),
        }


def explanation_from_score(
    *,
    feature_names: list[str],
    intercept: float,
    factors: list,
    rest: float,
    log_odds: float,
    as_of: dt.datetime | None = None,
) -> Explanation:
    """Rebuild an explanation from a stored score ([[index, contribution, value], ...])."""
    return Explanation(
        intercept=intercept,
        factors=tuple(
            Factor(name=feature_names[int(i)], value=value, contribution=float(c), as_of=as_of)
            for i, c, value in factors
        ),
        rest=rest,
        log_odds=log_odds,
    )


def svg_chart(explanation: Explanation, *, width: int = 360) -> str:
    """Horizontal bars around a zero line: red raises the risk, green lowers it."""
    factors = list(explanation.factors)
    if not factors:
        return ""
    row_h, label_w = 22, 190
    height = row_h * len(factors) + 8
    bar_w = width - label_w - 10
    scale = max(abs(f.contribution) for f in factors) or 1.0
    mid = label_w + bar_w / 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Factors of the churn risk">',
        f'<line x1="{mid:.1f}" y1="0" x2="{mid:.1f}" y2="{height}" stroke="#888" />',
    ]
    for k, f in enumerate(factors):
        y = 4 + k * row_h
        length = abs(f.contribution) / scale * (bar_w / 2 - 4)
        x = mid if f.contribution >= 0 else mid - length
        color = "#c0392b" if f.contribution > 0 else "#27ae60"
        parts.append(
            f'<text x="0" y="{y + 14}" font-size="11">{escape(f.text[:34])}</text>'
            f'<rect x="{x:.1f}" y="{y + 3}" width="{max(length, 1):.1f}" height="{row_h - 8}" '
            f'fill="{color}"><title>{escape(f.text)}: {f.contribution:+.2f}</title></rect>'
        )
    parts.append("</svg>")
    return "".join(parts)
