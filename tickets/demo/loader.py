"""Writing generated rows fast: COPY on PostgreSQL, executemany elsewhere.

Rows are plain tuples in the order of ``columns``; ids are assigned by the
generator, so related rows can point at each other without a round trip.
Datetimes are aware ``datetime`` objects or text the database reads as UTC
(see ``timeline.timestamp_formatter``); JSON columns are already-serialised
strings. On PostgreSQL the COPY goes through the raw psycopg connection taken
at construction, so a writer may run in a helper thread inside the same
transaction while the main thread generates the next chunk.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models


class TableWriter:
    """Inserts tuples into one model's table.

    Concrete fields the generator does not provide (say, a column another app
    adds later) get the field's default, evaluated once.
    """

    def __init__(self, model: type[models.Model], columns: Sequence[str]) -> None:
        self.model = model
        meta = model._meta
        self.table = meta.db_table
        by_attname = {f.attname: f for f in meta.concrete_fields}
        unknown = set(columns) - set(by_attname)
        if unknown:
            raise ValueError(f"{meta.label} has no columns {sorted(unknown)}")
        extra_fields = [
            f for f in meta.concrete_fields if f.attname not in columns and not f.primary_key
        ]
        self.extra = tuple(f.get_default() for f in extra_fields)
        self.columns = [*columns, *(f.attname for f in extra_fields)]
        fields = [by_attname[c] for c in self.columns]
        self.is_postgres = connection.vendor == "postgresql"
        if self.is_postgres:
            connection.ensure_connection()
            self.raw = connection.connection
        self.rows = 0
        if not self.is_postgres:
            ops = connection.ops
            self._adapters: list[tuple[int, Any]] = []
            for i, field in enumerate(fields):
                if isinstance(field, models.DateTimeField):
                    self._adapters.append((i, ops.adapt_datetimefield_value))

    def write(self, rows: Iterable[tuple]) -> None:
        if self.is_postgres:
            self._copy(rows)
        else:
            self._executemany(rows)

    def _copy(self, rows: Iterable[tuple]) -> None:
        qn = connection.ops.quote_name
        sql = f"COPY {qn(self.table)} ({', '.join(qn(c) for c in self.columns)}) FROM STDIN"
        extra = self.extra
        count = 0
        with self.raw.cursor() as cursor, cursor.copy(sql) as copy:
            write_row = copy.write_row
            if extra:
                for row in rows:
                    write_row(row + extra)
                    count += 1
            else:
                for row in rows:
                    write_row(row)
                    count += 1
        self.rows += count

    def _executemany(self, rows: Iterable[tuple]) -> None:
        qn = connection.ops.quote_name
        placeholders = ", ".join(["%s"] * len(self.columns))
        columns = ", ".join(qn(c) for c in self.columns)
        sql = f"INSERT INTO {qn(self.table)} ({columns}) VALUES ({placeholders})"  # noqa: S608 - names from the model
        adapters = self._adapters
        extra = self.extra
        batch: list[Any] = []
        with connection.cursor() as cursor:
            for row in rows:
                values = list(row + extra) if extra else list(row)
                for i, adapt in adapters:
                    if isinstance(values[i], datetime):
                        values[i] = adapt(values[i])
                batch.append(values)
                if len(batch) >= 5000:
                    cursor.executemany(sql, batch)
                    self.rows += len(batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
                self.rows += len(batch)


def next_id(model: type[models.Model]) -> int:
    """First free primary key (ids are assigned by the generator)."""
    last = model.objects.order_by("-pk").values_list("pk", flat=True).first()
    return (last or 0) + 1


def reset_sequences(models_: list[type[models.Model]]) -> None:
    """Move the id sequences past the explicitly inserted ids."""
    statements = connection.ops.sequence_reset_sql(no_style(), models_)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


class PostgresBulkLoad:
    """Detach secondary indexes and foreign keys of the loaded tables, reattach after.

    Loading millions of rows into indexed tables with deferred foreign-key
    checks is several times slower than building each index once and
    validating each foreign key with one join. Primary keys and unique
    constraints stay (they are appended to in order and guard the data).
    Everything runs inside the caller's transaction, so a failure rolls the
    DDL back too. The definitions come from the catalogue, so what is
    recreated is exactly what was there.
    """

    def __init__(self, models_: list[type[models.Model]]) -> None:
        self.tables = [m._meta.db_table for m in models_]
        self.indexes: list[tuple[str, str]] = []
        self.foreign_keys: list[tuple[str, str, str]] = []

    def detach(self) -> None:
        with connection.cursor() as cursor:
            # Dropping a foreign key touches the referenced table, which must
            # have no deferred checks pending from earlier in the transaction.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                """
                SELECT ci.relname, pg_get_indexdef(i.indexrelid)
                FROM pg_index i
                JOIN pg_class ci ON ci.oid = i.indexrelid
                JOIN pg_class ct ON ct.oid = i.indrelid
                JOIN pg_namespace n ON n.oid = ct.relnamespace
                WHERE ct.relname = ANY(%s) AND n.nspname = current_schema()
                  AND NOT i.indisprimary
                  AND NOT EXISTS (
                      SELECT 1 FROM pg_constraint c
                      WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x')
                  )
                ORDER BY ct.relname, ci.relname
                """,
                [self.tables],
            )
            self.indexes = list(cursor.fetchall())
            cursor.execute(
                """
                SELECT ct.relname, c.conname, pg_get_constraintdef(c.oid)
                FROM pg_constraint c
                JOIN pg_class ct ON ct.oid = c.conrelid
                JOIN pg_namespace n ON n.oid = ct.relnamespace
                WHERE ct.relname = ANY(%s) AND n.nspname = current_schema() AND c.contype = 'f'
                ORDER BY ct.relname, c.conname
                """,
                [self.tables],
            )
            self.foreign_keys = list(cursor.fetchall())
            qn = connection.ops.quote_name
            for table, name, _definition in self.foreign_keys:
                cursor.execute(f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(name)}")
            for name, _definition in self.indexes:
                cursor.execute(f"DROP INDEX {qn(name)}")

    def reattach(self) -> None:
        qn = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            for _name, definition in self.indexes:
                cursor.execute(definition)
            for table, name, definition in self.foreign_keys:
                cursor.execute(f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}")


def analyze(models_: list[type[models.Model]]) -> None:
    if connection.vendor != "postgresql":
        return
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in models_:
            cursor.execute(f"ANALYZE {qn(model._meta.db_table)}")
