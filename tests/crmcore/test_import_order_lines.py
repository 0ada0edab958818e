"""Order lines and products import: lines grouped into orders, returns, idempotence."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from crmcore import factories
from crmcore.integrations import importer, services
from crmcore.models import Order, OrderLine, Product

MAPPING = {
    "columns": {
        "InvoiceNo": "order_id",
        "InvoiceDate": "ordered_at",
        "CustomerID": "contact_external_id",
        "StockCode": "product_code",
        "Description": "description",
        "Quantity": "quantity",
        "UnitPrice": "unit_price",
    },
}
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
LINES = (
    HEADER + "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,01/12/2010 08:26,2.55,17850\n"
    "536365,71053,WHITE METAL LANTERN,6,01/12/2010 08:26,3.39,17850\n"
    "536365,71053,WHITE METAL LANTERN,6,01/12/2010 08:26,3.39,17850\n"
    "536366,22633,HAND WARMER UNION JACK,6,01/12/2010 08:28,1.85,ada@example.com\n"
    "C536379,85123A,WHITE HANGING HEART T-LIGHT HOLDER,-2,01/12/2010 09:41,2.55,17850\n"
    "536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,01/12/2010 08:34,1.69,99999\n"
    "536368,22960,JAM MAKING SET WITH JARS,0,01/12/2010 08:34,4.25,17850\n"
    "536369,22960,JAM MAKING SET WITH JARS,lots,01/12/2010 08:34,4.25,17850\n"
    "536365,22961,JAM MAKING SET PRINTED,-1,01/12/2010 08:26,1.45,17850\n"
)


def write(tmp_path: Path, text: str, name: str = "lines.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(workspace, path: Path, *, mapping=None, dry_run=False, chunk_size=1000):
    return importer.run_import(
        workspace=workspace,
        kind="order_lines",
        source=services.byte_source_for_path(path),
        mapping=mapping or MAPPING,
        dry_run=dry_run,
        chunk_size=chunk_size,
    )


def row_errors(workspace, path: Path) -> list[tuple[int, str]]:
    errors: list[importer.RowError] = []
    importer.run_import(
        workspace=workspace,
        kind="order_lines",
        source=services.byte_source_for_path(path),
        mapping=MAPPING,
        on_chunk=lambda result, chunk_errors: errors.extend(chunk_errors),
    )
    return [(e.line, e.reason) for e in errors]


@pytest.fixture
def customers(workspace):
    return (
        factories.ContactFactory(workspace=workspace, external_id="17850"),
        factories.ContactFactory(workspace=workspace, external_id="", email="Ada@Example.com"),
    )


@pytest.mark.parametrize("chunk_size", [1000, 2])
def test_order_lines__grouped_into_orders_products_created_returns_refunded(
    workspace, tmp_path, customers, chunk_size
):
    result = run(workspace, write(tmp_path, LINES), chunk_size=chunk_size)

    counts = result.counts
    assert (counts.created, counts.unchanged, counts.rejected) == (4, 0, 5)
    orders = {o.external_id: o for o in Order.objects.in_workspace(workspace)}
    assert set(orders) == {"536365", "C536379"}
    sale = orders["536365"]
    assert sale.status == Order.Status.PAID
    assert sale.total == Decimal("6") * Decimal("2.55") + 2 * Decimal("6") * Decimal("3.39")
    assert sale.contact == customers[0]
    assert (sale.ordered_at.year, sale.ordered_at.month, sale.ordered_at.day) == (2010, 12, 1)
    assert sale.lines.count() == 3
    refund = orders["C536379"]
    assert refund.status == Order.Status.REFUNDED
    assert refund.total == Decimal("-5.10")
    assert list(refund.lines.values_list("quantity", flat=True)) == [2]
    products = dict(Product.objects.in_workspace(workspace).values_list("sku", "name"))
    assert products == {
        "85123A": "WHITE HANGING HEART T-LIGHT HOLDER",
        "71053": "WHITE METAL LANTERN",
    }
    assert Product.objects.get(sku="71053").price == Decimal("3.39")


def test_order_lines__row_errors_say_why(workspace, tmp_path, customers):
    errors = row_errors(workspace, write(tmp_path, LINES))

    assert errors == [
        (5, "no contact with external_id 'ada@example.com'"),
        (7, "no contact with external_id '99999'"),
        (8, "quantity is 0"),
        (9, "invalid whole number 'lots' for quantity"),
        (
            10,
            "a returned line in sale order '536365'; returns go in their own order "
            "(an id starting with C, or negative quantities)",
        ),
    ]


def test_order_lines__by_email__contact_matched(workspace, tmp_path, customers):
    text = (
        "Order,Date,Customer,Code,Desc,Qty,Price\nO-1,2024-03-01,ADA@example.com,P1,Cups,3,1.50\n"
    )
    mapping = {
        "columns": {
            "Order": "order_id",
            "Date": "ordered_at",
            "Customer": "contact_email",
            "Code": "product_code",
            "Desc": "description",
            "Qty": "quantity",
            "Price": "unit_price",
        }
    }

    result = run(workspace, write(tmp_path, text), mapping=mapping)

    assert result.counts.created == 1
    order = Order.objects.get(external_id="O-1")
    assert order.contact == customers[1]
    assert order.total == Decimal("4.50")


def test_order_lines__same_file_twice__second_run_changes_nothing(workspace, tmp_path, customers):
    path = write(tmp_path, LINES)
    run(workspace, path, chunk_size=3)
    before = (
        list(Order.objects.order_by("pk").values_list("pk", "total", "status")),
        list(OrderLine.objects.order_by("pk").values_list("pk", "order_id", "quantity")),
        list(Product.objects.order_by("pk").values_list("pk", "sku", "name", "price")),
    )

    again = run(workspace, path, chunk_size=2)

    assert (again.counts.created, again.counts.unchanged) == (0, 4)
    after = (
        list(Order.objects.order_by("pk").values_list("pk", "total", "status")),
        list(OrderLine.objects.order_by("pk").values_list("pk", "order_id", "quantity")),
        list(Product.objects.order_by("pk").values_list("pk", "sku", "name", "price")),
    )
    assert after == before


def test_order_lines__more_lines_for_a_stored_order__only_those_added(
    workspace, tmp_path, customers
):
    first = HEADER + "O-9,P1,Cups,2,2024-01-01,1.00,17850\n"
    second = first + "O-9,P1,Cups,2,2024-01-01,1.00,17850\nO-9,P2,Lids,1,2024-01-01,0.50,17850\n"
    run(workspace, write(tmp_path, first, "a.csv"))

    result = run(workspace, write(tmp_path, second, "b.csv"))

    assert (result.counts.created, result.counts.unchanged) == (2, 1)
    order = Order.objects.get(external_id="O-9")
    assert order.lines.count() == 3
    assert order.total == Decimal("4.50")


def test_order_lines__existing_product__matched_by_code_not_renamed(workspace, tmp_path, customers):
    product = factories.ProductFactory(workspace=workspace, sku="P1", name="Paper cups")

    run(workspace, write(tmp_path, HEADER + "O-1,P1,PAPER CUPS 50PK,2,2024-01-01,1.00,17850\n"))

    assert OrderLine.objects.get().product == product
    product.refresh_from_db()
    assert product.name == "Paper cups"
    assert Product.objects.count() == 1


def test_order_lines__order_of_another_customer__line_rejected(workspace, tmp_path, customers):
    other = factories.ContactFactory(workspace=workspace, external_id="12000")
    text = HEADER + "O-1,P1,Cups,2,2024-01-01,1.00,17850\nO-1,P2,Lids,1,2024-01-01,0.50,12000\n"
    errors = row_errors(workspace, write(tmp_path, text))

    assert errors == [(3, "order 'O-1' belongs to another customer (as line 2 says)")]
    assert not Order.objects.filter(contact=other).exists()


def test_order_lines__dry_run__writes_nothing(workspace, tmp_path, customers):
    result = run(workspace, write(tmp_path, LINES), dry_run=True)

    assert result.counts.created == 4
    assert not Order.objects.exists()
    assert not Product.objects.exists()
    assert not OrderLine.objects.exists()


@pytest.mark.parametrize(
    ("quantity", "price", "reason"),
    [
        ("2.5", "1.00", "invalid whole number '2.5' for quantity"),
        ("99999999999999", "1.00", "invalid whole number '99999999999999' for quantity"),
        ("2", "1e400", "invalid number '1e400' for unit_price"),
        ("2", "-1.00", "unit_price -1.00 is negative"),
        ("2", "99999999999", "invalid number '99999999999' for unit_price"),
    ],
)
def test_order_lines__hostile_numbers__row_errors(
    workspace, tmp_path, customers, quantity, price, reason
):
    text = HEADER + f"O-1,P1,Cups,{quantity},2024-01-01,{price},17850\n"
    errors = row_errors(workspace, write(tmp_path, text))

    assert errors == [(2, reason)]
    assert not Order.objects.exists()


def test_order_lines__mapping_without_quantity__refused(workspace):
    columns = {k: v for k, v in MAPPING["columns"].items() if v != "quantity"}

    with pytest.raises(importer.ImportInputError, match="Required fields are not mapped: quantity"):
        importer.parse_mapping({"columns": columns}, spec=importer.kind_spec("order_lines"))
