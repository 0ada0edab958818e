"""Bias audit: a version's outcomes across segments of its held-out contacts.

For each attribute (region, segment and every attribute an admin marked
sensitive) and each of its groups: the selection rate at the action threshold
(the high-risk band), the true- and false-positive rates, and their ratios to
the best group (the disparate impact ratio is selection rate / the highest
selection rate). Warnings flag ratios under the four-fifths rule and sensitive
attributes, or close proxies of them, among the model's top coefficients; they
name attributes and factors by the labels the contact panel uses.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from ai_features.capabilities.prediction.conf import app_settings
from ai_features.capabilities.prediction.explain import feature_label, humanize
from crmcore.models import Contact

TOP_COEFFICIENTS = 10


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _ratio(value: float | None, best: float | None) -> float | None:
    if value is None or not best:
        return None
    return round(value / best, 4)


def group_values(contact_ids: list[int], attributes: list[str]) -> dict[str, list[str]]:
    """Each audited attribute's value for each contact, in ``contact_ids`` order.

    One query per 5,000 contacts."""
    rows: dict[int, dict[str, Any]] = {}
    for start in range(0, len(contact_ids), 5000):
        batch = contact_ids[start : start + 5000]
        for row in Contact.objects.filter(pk__in=batch).values(
            "pk", "region", "segment", "attributes"
        ):
            rows[row["pk"]] = row
    values: dict[str, list[str]] = {}
    for name in attributes:
        column = []
        for contact_id in contact_ids:
            row = rows.get(contact_id) or {}
            if name in ("region", "segment"):
                value = row.get(name)
            else:
                value = (row.get("attributes") or {}).get(name)
            column.append(str(value) if value not in (None, "") else "(unknown)")
        values[name] = column
    return values


def audit(
    *,
    y: np.ndarray,
    p: np.ndarray,
    z: np.ndarray,
    groups: dict[str, list[str]],
    sensitive: list[str],
    feature_names: list[str],
    coefficients: list[float],
    threshold: float,
) -> tuple[list[dict[str, Any]], list[str]]:
    """(per-group rows, warnings)."""
    min_ratio = app_settings.MIN_IMPACT_RATIO
    selected = p >= threshold
    rows: list[dict[str, Any]] = []
    warnings: list[str] = []
    for attribute, column in groups.items():
        members: dict[str, list[int]] = defaultdict(list)
        for i, value in enumerate(column):
            members[value].append(i)
        stats = []
        for value, index in sorted(members.items()):
            idx = np.array(index)
            yy, ss = y[idx], selected[idx]
            positives, negatives = int(yy.sum()), int(len(yy) - yy.sum())
            stats.append(
                {
                    "attribute": attribute,
                    "group": value,
                    "count": len(idx),
                    "sensitive": attribute in sensitive,
                    "selection_rate": _rate(int(ss.sum()), len(idx)),
                    "tpr": _rate(int((ss & (yy == 1)).sum()), positives),
                    "fpr": _rate(int((ss & (yy == 0)).sum()), negatives),
                }
            )
        best_selection = max((s["selection_rate"] or 0.0) for s in stats)
        best_tpr = max((s["tpr"] or 0.0) for s in stats)
        for s in stats:
            s["impact_ratio"] = _ratio(s["selection_rate"], best_selection)
            s["tpr_ratio"] = _ratio(s["tpr"], best_tpr)
            if s["impact_ratio"] is not None and s["impact_ratio"] < min_ratio and len(stats) > 1:
                warnings.append(
                    f"{humanize(attribute)} = {s['group']}: selection rate "
                    f"{s['selection_rate']:.2f} is "
                    f"{s['impact_ratio']:.2f} of the highest group's (below {min_ratio:.2f})."
                )
        rows.extend(stats)
    warnings.extend(
        proxy_warnings(
            z=z,
            groups={a: groups[a] for a in sensitive if a in groups},
            feature_names=feature_names,
            coefficients=coefficients,
        )
    )
    return rows, warnings


def proxy_warnings(
    *,
    z: np.ndarray,
    groups: dict[str, list[str]],
    feature_names: list[str],
    coefficients: list[float],
) -> list[str]:
    """Sensitive attributes, or features strongly correlated with them, among the top terms."""
    limit = app_settings.PROXY_CORRELATION
    coef = np.asarray(coefficients, dtype=np.float64)
    top = [int(j) for j in np.argsort(-np.abs(coef))[:TOP_COEFFICIENTS] if coef[j] != 0]
    warnings: list[str] = []
    for attribute, column in groups.items():
        prefixes = (f"{attribute}=", f"attr:{attribute}=", f"attr:{attribute}")
        direct = [feature_names[j] for j in top if feature_names[j].startswith(prefixes)]
        for name in direct:
            warnings.append(
                f'Sensitive attribute "{humanize(attribute)}" drives scores directly '
                f'("{feature_label(name)}" is among the top {TOP_COEFFICIENTS} coefficients).'
            )
        values = np.array(column)
        for j in top:
            name = feature_names[j]
            if name in direct or len(z) < 3:
                continue
            feature = z[:, j].astype(np.float64)
            if feature.std() == 0:
                continue
            for group in sorted(set(column)):
                indicator = (values == group).astype(np.float64)
                if indicator.std() == 0:
                    continue
                r = float(np.corrcoef(feature, indicator)[0, 1])
                if abs(r) >= limit:
                    warnings.append(
                        f'"{feature_label(name)}" (a top coefficient) is a close proxy of '
                        f"sensitive {humanize(attribute)} = {group} (correlation {r:+.2f})."
                    )
    return warnings
