"""Explanations of churn scores: factors in words, and an inline SVG bar chart.

The model is a logistic regression on standardized features, so a score's
log-odds is exactly ``intercept + sum(coef_i * z_i)``: each term is one
factor's contribution. Positive contributions raise the risk, negative ones
lower it; together with the intercept they add up to the score.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django.utils.html import escape

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
}


def describe(name: str, value: Any) -> str:
    """A factor in words a rep understands, e.g. "No order in 94 days"."""
    if value is None:
        return f"{name} unknown"
    v = float(value)
    n = round(v)
    s = "" if n == 1 else "s"
    if name == "days_since_last_order":
        return "Never ordered" if v >= 730 else f"No order in {n} day{s}"
    if name == "days_since_last_interaction":
        return "No contact on record" if v >= 730 else f"Last contact {n} day{s} ago"
    if name == "order_trend":
        if n == 0:
            return "Orders steady over the last 90 days"
        word = "more" if n > 0 else "fewer"
        return f"{abs(n)} {word} order{'' if abs(n) == 1 else 's'} than the 90 days before"
    if name == "sentiment_90d":
        tone = "positive" if v > 0.1 else "negative" if v < -0.1 else "neutral"
        return f"Tone of the last 90 days {tone} ({v:+.2f})"
    if name == "tenure_days":
        return f"Customer for {n} day{s}" if n < 60 else f"Customer for {n // 30} months"
    if name in PHRASES:
        some, none = PHRASES[name]
        if n == 0 and abs(v) < 0.5:
            return none
        return some.format(n=n, s=s, money=f"{v:,.0f}")
    if name.endswith(" missing") and name.startswith("attr:"):
        key = name[5:-8]
        return f"{key} unknown" if v else f"{key} recorded"
    if "=" in name:
        column, _, category = name.partition("=")
        column = column[5:] if column.startswith("attr:") else column.capitalize()
        return f"{column} is {category}" if v else f"{column} is not {category}"
    if name.startswith("attr:"):
        if v > 600_000:  # a date attribute, stored as its day number
            return f"{name[5:]}: {dt.date.fromordinal(int(v)).isoformat()}"
        return f"{name[5:]}: {v:g}"
    return f"{name}: {v:g}"


@dataclass(frozen=True)
class Factor:
    name: str
    value: Any
    contribution: float

    @property
    def text(self) -> str:
        return describe(self.name, self.value)


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
            return {
                "feature": f.name,
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
    *, feature_names: list[str], intercept: float, factors: list, rest: float, log_odds: float
) -> Explanation:
    """Rebuild an explanation from a stored score ([[index, contribution, value], ...])."""
    return Explanation(
        intercept=intercept,
        factors=tuple(
            Factor(name=feature_names[int(i)], value=value, contribution=float(c))
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
