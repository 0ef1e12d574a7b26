"""Export of a filtered, sorted grid with the user's columns: CSV and XLSX.

CSV: UTF-8 with a BOM and ``;`` as separator, which is what Excel in pt-BR
expects (``,`` is the decimal separator there), streamed row by row. XLSX:
openpyxl's write-only mode, with real dates (local time) and numbers. Both
stop at ``MAX_ROWS``: the view refuses larger exports with a message rather
than hand over a silently truncated file.
"""

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

from dashboards.grids.columns import Column, format_value

MAX_ROWS = 100_000
CHUNK = 2_000
CSV_DELIMITER = ";"
BOM = "\ufeff"


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_rows(qs: QuerySet, columns: list[Column]) -> Iterator[str]:
    writer = csv.writer(_Echo(), delimiter=CSV_DELIMITER, quoting=csv.QUOTE_MINIMAL)
    yield BOM + writer.writerow([str(c.label) for c in columns])
    for row in qs[:MAX_ROWS].iterator(chunk_size=CHUNK):
        yield writer.writerow([c.cell_text(row) for c in columns])


def csv_response(qs: QuerySet, columns: list[Column], name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_rows(qs, columns), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def xlsx_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return format_value(value)
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, int | float):
        return value
    return str(value)


def xlsx_response(qs: QuerySet, columns: list[Column], name: str, *, title: str) -> HttpResponse:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31].replace("/", "-") or "Grade")
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=str(column.label))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in qs[:MAX_ROWS].iterator(chunk_size=CHUNK):
        values = []
        for column in columns:
            value = xlsx_value(column.value(row))
            if isinstance(value, datetime):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "DD/MM/YYYY HH:MM:SS"
                values.append(cell)
            else:
                values.append(value)
        sheet.append(values)
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response
