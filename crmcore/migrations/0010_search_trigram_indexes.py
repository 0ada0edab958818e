"""Trigram indexes for the contact search, on PostgreSQL only (SQLite has none to offer).

The contact search (``crmcore.selectors.contact_list``) compares
``UPPER(<first name, last name and email>) LIKE UPPER('%word%')`` and
``UPPER(account.name) LIKE ...``: each index holds exactly that expression,
compiled by Django as the query compiles it, with ``gin_trgm_ops`` so a
``LIKE '%word%'`` (three letters or more) is answered from the index instead
of a scan of every contact. ``pg_trgm`` ships with PostgreSQL and is a
trusted extension: the database owner may create it.
"""

from django.db import migrations
from django.db.models import CharField, Value
from django.db.models.functions import Concat, Upper
from django.db.models.sql import Query


def _indexes():
    contact_text = Concat(
        "first_name", Value(" "), "last_name", Value(" "), "email", output_field=CharField()
    )
    return [
        ("Contact", "contact_search_trgm", Upper(contact_text)),
        ("Account", "account_name_trgm", Upper("name")),
    ]


def _expression_sql(model, expression, schema_editor) -> str:
    query = Query(model, alias_cols=False)
    compiler = query.get_compiler(connection=schema_editor.connection)
    sql, params = expression.resolve_expression(query).as_sql(compiler, schema_editor.connection)
    return sql % tuple(schema_editor.quote_value(param) for param in params)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    quote = schema_editor.quote_name
    for model_name, name, expression in _indexes():
        model = apps.get_model("crmcore", model_name)
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {quote(model._meta.db_table)} "
            f"USING gin (({_expression_sql(model, expression, schema_editor)}) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _, name, _ in _indexes():
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [("crmcore", "0009_webhook_deliveries_due_and_recorded")]

    operations = [migrations.RunPython(create, drop)]
