"""The contact search index holds the phone and the external id too (PostgreSQL only).

The API's ``?search=`` looked in the phone and the external id as well as the
names and the email; it now asks the same selector as the web search
(``crmcore.selectors.contact_search``), so the indexed text gains those two
fields and the index is built again on exactly the expression the query
compares (``crmcore.selectors.contact_search_text``).
"""

from django.db import migrations
from django.db.models import CharField, Value
from django.db.models.functions import Concat, Upper
from django.db.models.sql import Query

INDEX = "contact_search_trgm"
OLD_FIELDS = ("first_name", "last_name", "email")
NEW_FIELDS = ("first_name", "last_name", "email", "phone", "external_id")


def _text(fields):
    parts = []
    for index, field in enumerate(fields):
        parts.extend((Value(" "), field) if index else (field,))
    return Upper(Concat(*parts, output_field=CharField()))


def _expression_sql(model, expression, schema_editor) -> str:
    query = Query(model, alias_cols=False)
    compiler = query.get_compiler(connection=schema_editor.connection)
    sql, params = expression.resolve_expression(query).as_sql(compiler, schema_editor.connection)
    return sql % tuple(schema_editor.quote_value(param) for param in params)


def _rebuild(fields):
    def rebuild(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        model = apps.get_model("crmcore", "Contact")
        quote = schema_editor.quote_name
        schema_editor.execute(f"DROP INDEX IF EXISTS {quote(INDEX)}")
        schema_editor.execute(
            f"CREATE INDEX {quote(INDEX)} ON {quote(model._meta.db_table)} "
            f"USING gin (({_expression_sql(model, _text(fields), schema_editor)}) gin_trgm_ops)"
        )

    return rebuild


class Migration(migrations.Migration):
    dependencies = [("crmcore", "0014_deal_stage_history_and_discount")]

    operations = [migrations.RunPython(_rebuild(NEW_FIELDS), _rebuild(OLD_FIELDS))]
