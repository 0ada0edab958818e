"""Attribute types: inferred on import, set in the mapping, recorded for the workspace."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from crmcore.integrations import importer, selectors, services
from crmcore.integrations.importing.attribute_types import AttributeType, infer, read_number
from crmcore.integrations.models import ContactAttributeType
from crmcore.models import Contact

TABLE = (
    "Id,Name,Since,Tenure,Monthly,Paperless,Contract,Notes,Zip\n"
    "1,Ada,2023-01-05,12 months,$29.85,Yes,Month-to-month,called twice,01234\n"
    "2,Bob,05/03/2022,24 months,$56.95,No,One year,likes the blue plan,02139\n"
    "3,Cy,2021-11-30,3 months,$42.30,yes,Month-to-month,moved house,10001\n"
    "4,Di,2020-02-01,40 months,$99.65,NO,Two year,asked for a discount,94105\n"
)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["2024-01-05", "05/03/2022", "12 Mar 2024"], AttributeType("date")),
        (["12 months", "3 months", "40 months"], AttributeType("number", "months")),
        (["$29.85", "$1,056.95", "$42"], AttributeType("number", "USD")),
        (["1,234.5", "17", "-3"], AttributeType("number")),
        (["Yes", "no", "TRUE", "n"], AttributeType("boolean")),
        (["0", "1", "1", "0"], AttributeType("boolean")),
        (["Month-to-month", "One year", "Month-to-month"], AttributeType("category")),
        (["called twice", "likes the blue plan", "moved house"], AttributeType("text")),
        (["01234", "02139", "10001"], AttributeType("text")),
        (["", ""], AttributeType("text")),
    ],
)
def test_infer__sample_values__type_and_unit(values, expected):
    assert infer(values) == expected


def test_read_number__units_and_hostile_text():
    assert read_number("12 months") == (Decimal("12"), "months")
    assert read_number("5.5 GB") == (Decimal("5.5"), "GB")
    assert read_number("€3") == (Decimal("3"), "EUR")
    assert read_number("1e400") is None
    assert read_number("9" * 40) is None
    assert read_number("twelve") is None


def run(workspace, tmp_path: Path, mapping: dict, text: str = TABLE, dry_run=False):
    path = tmp_path / "table.csv"
    path.write_text(text, encoding="utf-8")
    errors: list[importer.RowError] = []
    result = importer.run_import(
        workspace=workspace,
        kind="contacts",
        source=services.byte_source_for_path(path),
        mapping=mapping,
        dry_run=dry_run,
        on_chunk=lambda result, chunk_errors: errors.extend(chunk_errors),
    )
    return result, [(e.line, e.reason) for e in errors]


INFERRED = {
    "Since": ("date", ""),
    "Tenure": ("number", "months"),
    "Monthly": ("number", "USD"),
    "Paperless": ("boolean", ""),
    "Contract": ("category", ""),
    "Notes": ("text", ""),
    "Zip": ("text", ""),
}
UNMAPPED = {"columns": {"Id": "external_id", "Name": "first_name"}, "unmapped": "attributes"}


def test_import__unmapped_columns__types_inferred_values_normalised_and_recorded(
    workspace, tmp_path
):
    result, errors = run(workspace, tmp_path, UNMAPPED)

    assert errors == []
    assert {k: (v.type, v.unit) for k, v in result.attribute_types.items()} == INFERRED
    bob = Contact.objects.get(external_id="2")
    assert bob.attributes == {
        "Since": "2022-03-05",
        "Tenure": "24",
        "Monthly": "56.95",
        "Paperless": "no",
        "Contract": "One year",
        "Notes": "likes the blue plan",
        "Zip": "02139",
    }
    assert selectors.contact_attribute_types(workspace=workspace) == INFERRED


def test_import__types_set_in_mapping__enforced_and_kept_over_inferred(workspace, tmp_path):
    mapping = {
        "columns": {
            "Id": "external_id",
            "Name": "first_name",
            "Tenure": "attributes.tenure",
            "Zip": "attributes.zip",
            "Monthly": "attributes.monthly",
        },
        "types": {
            "attributes.tenure": "number",
            "attributes.zip": "category",
            "attributes.monthly": "boolean",
        },
        "units": {"attributes.tenure": "months"},
    }

    _, errors = run(workspace, tmp_path, mapping)
    # A later import without types does not replace the types set by hand
    untyped = {k: v for k, v in mapping["columns"].items() if k != "Monthly"}
    run(workspace, tmp_path, {"columns": untyped})

    assert errors == [
        (line, f"invalid yes/no {v!r} for monthly")
        for line, v in [
            (2, "$29.85"),
            (3, "$56.95"),
            (4, "$42.30"),
            (5, "$99.65"),
        ]
    ]
    recorded = ContactAttributeType.objects.in_workspace(workspace)
    assert {
        r.key: (r.type, r.unit, r.declared) for r in recorded if r.key in ("tenure", "zip")
    } == {
        "tenure": ("number", "months", True),
        "zip": ("category", "", True),
    }


def test_import__dry_run__records_no_types(workspace, tmp_path):
    result, _ = run(workspace, tmp_path, UNMAPPED, dry_run=True)

    assert result.attribute_types["Tenure"] == AttributeType("number", "months")
    assert not ContactAttributeType.objects.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"types": {"attributes.tenure": "money"}}, "Unknown type 'money'"),
        ({"units": {"attributes.tenure": "months"}}, 'which is not typed "number"'),
        (
            {"types": {"attributes.tenure": "number"}, "units": {"attributes.tenure": ""}},
            "1 to 20 characters",
        ),
        (
            {"types": {"attributes.tenure": "number"}, "units": {"attributes.tenure": 12}},
            "1 to 20 characters",
        ),
        ({"units": ["months"]}, '"units" must be'),
    ],
)
def test_parse_mapping__bad_types_or_units__refused(extra, message):
    mapping = {"columns": {"Id": "external_id", "Name": "first_name", "T": "attributes.tenure"}}

    with pytest.raises(importer.ImportInputError, match=message):
        importer.parse_mapping({**mapping, **extra}, spec=importer.kind_spec("contacts"))
