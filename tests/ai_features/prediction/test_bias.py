import numpy as np

from ai_features.capabilities.prediction import bias, services
from ai_features.capabilities.prediction.models import SensitiveAttribute
from tests.ai_features.prediction.helpers import make_history


def test_audit__two_groups__selection_error_rates_and_impact_ratio():
    y = np.array([1, 1, 0, 0, 1, 1, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.1, 0.9, 0.2, 0.1, 0.1])
    groups = {"region": ["A", "A", "A", "A", "B", "B", "B", "B"]}

    rows, warnings = bias.audit(
        y=y,
        p=p,
        z=np.zeros((8, 1)),
        groups=groups,
        sensitive=[],
        feature_names=["x"],
        coefficients=[0.0],
        threshold=0.6,
    )

    a, b = rows
    assert (a["selection_rate"], a["tpr"], a["fpr"], a["impact_ratio"]) == (0.75, 1.0, 0.5, 1.0)
    assert (b["selection_rate"], b["tpr"], b["fpr"], b["impact_ratio"]) == (0.25, 0.5, 0.0, 0.3333)
    assert b["tpr_ratio"] == 0.5
    assert warnings == [
        "Region = B: selection rate 0.25 is 0.33 of the highest group's (below 0.80)."
    ]


def test_proxy_warnings__top_feature_tracks_sensitive_group__flagged():
    rng = np.random.default_rng(0)
    group = np.array(["x"] * 50 + ["y"] * 50)
    proxy = (group == "x").astype(float) + rng.normal(0, 0.1, 100)
    noise = rng.normal(0, 1, 100)
    z = np.column_stack([proxy, noise])

    warnings = bias.proxy_warnings(
        z=z,
        groups={"gender": list(group)},
        feature_names=["attr:zip_area", "orders_total"],
        coefficients=[1.2, 0.3],
    )

    assert len(warnings) == 2  # correlated with both groups, in opposite directions
    assert warnings[0].startswith(
        '"Zip area" (a top coefficient) is a close proxy of sensitive Gender = x (correlation +'
    )


def test_proxy_warnings__sensitive_attribute_is_a_top_feature__flagged_directly():
    warnings = bias.proxy_warnings(
        z=np.zeros((4, 2)),
        groups={"gender": ["f", "m", "f", "m"]},
        feature_names=["attr:gender=f", "orders_total"],
        coefficients=[0.8, 0.1],
    )

    assert warnings == [
        'Sensitive attribute "Gender" drives scores directly ("Gender: f" is among the '
        "top 10 coefficients)."
    ]


def test_bias_audit_run__sensitive_attribute_marked__audited_per_group(workspace, settings):
    settings.AI_PREDICTION_MIN_AUC = 0.5
    make_history(workspace, customers=30, churned=30)
    version = services.model_version_train(workspace=workspace)
    services.sensitive_attribute_set(workspace=workspace, name="plan", sensitive=True)

    audit = services.bias_audit_run(version=version)

    attributes = {(g["attribute"], g["sensitive"]) for g in audit.groups}
    assert attributes == {("region", False), ("segment", False), ("plan", True)}
    assert sum(g["count"] for g in audit.groups if g["attribute"] == "plan") == 15
    assert audit.threshold == 0.6
    assert SensitiveAttribute.objects.filter(workspace=workspace).count() == 1
