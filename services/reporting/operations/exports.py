"""The funder report as CSV, XLSX (openpyxl) and PDF (WeasyPrint): the same suppressed cells,
a chart or two and the methods note."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, select_autoescape

from services.reporting import domain


@dataclass(frozen=True)
class Line:
    """One cell of a funder report: what is measured, for which group, and its value."""

    section: str
    measure: str
    group: str
    value: domain.Cell


FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}

METHODS = (
    "Figures are computed from Casehub's domain events only (the reporting read model), for "
    "the period's agency calendar days, both ends included. Counts of fewer than 5 people are "
    'shown as "< 5", and a total that would reveal a hidden cell is hidden too; a share or '
    "median over fewer than 5 people, or whose counted or uncounted people are 1 to 4, is "
    "withheld. Median days run from the first event to the second (registration to first "
    "assignment; registration to first approved plan; referral sent to accepted). A review is "
    "on time when held on or before its due day; reviews due and not yet held count once "
    "overdue. A crisis alert is a moderate or high risk flag; it is acknowledged in time when "
    "an urgent notification about the client was acknowledged within 15 minutes. Outcomes: "
    "baseline is an episode's first PHQ-9 or GAD-7 total, latest its last total by the "
    "period's end, taken in the period; reliable improvement is a drop of at least 6 (PHQ-9) "
    "or 4 (GAD-7) points; response (a drop of half or more) and remission (latest below 5) "
    "count people whose baseline was 10 or more. No names, dates of birth or free text are "
    "held. See docs/reporting.md."
)


def _title(meta: dict[str, Any]) -> str:
    programme = meta["programme"] or "all programmes"
    return f"Funder report: {programme}, {meta['from']} to {meta['to']}"


def to_csv(meta: dict[str, Any], cells: Sequence[Line]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "measure", "group", "value"])
    for line in cells:
        writer.writerow(
            [line.section, line.measure, line.group, "" if line.value is None else line.value]
        )
    writer.writerow([])
    writer.writerow(["methods", _title(meta), "", METHODS])
    return out.getvalue().encode("utf-8")


def _chartable(cells: Sequence[Line], section: str, measure: str) -> list[tuple[str, int]]:
    return [
        (line.group, line.value)
        for line in cells
        if line.section == section
        and line.measure == measure
        and line.group != "total"
        and isinstance(line.value, int)
    ]


def to_xlsx(meta: dict[str, Any], cells: Sequence[Line]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Figures"
    sheet.append([_title(meta)])
    sheet.append(["Section", "Measure", "Group", "Value"])
    for line in cells:
        sheet.append([line.section, line.measure, line.group, line.value])
    for column, width in zip("ABCD", (18, 48, 24, 12), strict=True):
        sheet.column_dimensions[column].width = width
    charts = book.create_sheet("Charts")
    row = 1
    for section, measure, title in (
        ("Discharges", "Discharges", "Discharges by reason"),
        ("Referrals", "Referrals sent", "Referrals sent by partner"),
    ):
        data = _chartable(cells, section, measure)
        if not data:
            continue
        charts.cell(row=row, column=1, value=title)
        for offset, (group, value) in enumerate(data, start=1):
            charts.cell(row=row + offset, column=1, value=group)
            charts.cell(row=row + offset, column=2, value=value)
        chart = BarChart()
        chart.title = title
        chart.add_data(Reference(charts, min_col=2, min_row=row + 1, max_row=row + len(data)))
        chart.set_categories(Reference(charts, min_col=1, min_row=row + 1, max_row=row + len(data)))
        chart.legend = None
        charts.add_chart(chart, f"D{row}")
        row += max(len(data) + 2, 18)
    methods = book.create_sheet("Methods")
    methods.append([METHODS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


_PAGE = Environment(autoescape=select_autoescape(default=True)).from_string(
    """<!doctype html><html><head><meta charset="utf-8"><title>{{ title }}</title><style>
@page { size: A4; margin: 18mm }
body { font-family: sans-serif; font-size: 10pt }
table { border-collapse: collapse; width: 100% }
td, th { border-bottom: 1px solid #ccc; padding: 2pt 4pt; text-align: left }
td.value { text-align: right }
</style></head><body>
<h1>{{ title }}</h1>
{% for section, rows in sections %}<h2>{{ section }}</h2><table>
<tr><th>Measure</th><th>Group</th><th>Value</th></tr>
{% for line in rows %}<tr><td>{{ line.measure }}</td><td>{{ line.group }}</td>
<td class="value">{{ "" if line.value is none else line.value }}</td></tr>{% endfor %}
</table>{% endfor %}
{% for chart_title, bars, top in charts %}<h2>{{ chart_title }}</h2>
<svg width="480" height="{{ 24 * bars|length + 8 }}" xmlns="http://www.w3.org/2000/svg">
{% for group, value in bars %}<text x="0" y="{{ 24 * loop.index0 + 16 }}" font-size="10">{{ group }}</text>
<rect x="160" y="{{ 24 * loop.index0 + 4 }}" width="{{ (280 * value / top)|round(1) }}" height="16" fill="#3b6ea5"/>
<text x="{{ 166 + (280 * value / top)|round(1) }}" y="{{ 24 * loop.index0 + 16 }}" font-size="10">{{ value }}</text>
{% endfor %}</svg>{% endfor %}
<h2>Methods</h2><p>{{ methods }}</p>
<p>Suppressed cells are shown as "{{ suppressed }}".</p>
</body></html>"""
)


def to_html(meta: dict[str, Any], cells: Sequence[Line]) -> str:
    sections: dict[str, list[Line]] = {}
    for line in cells:
        sections.setdefault(line.section, []).append(line)
    charts = []
    for section, measure, title in (
        ("Discharges", "Discharges", "Discharges by reason"),
        ("Referrals", "Referrals sent", "Referrals sent by partner"),
    ):
        bars = _chartable(cells, section, measure)
        if bars and max(value for _, value in bars) > 0:
            charts.append((title, bars, max(value for _, value in bars)))
    return _PAGE.render(
        title=_title(meta),
        sections=list(sections.items()),
        charts=charts,
        methods=METHODS,
        suppressed=domain.SUPPRESSED,
    )


def to_pdf(meta: dict[str, Any], cells: Sequence[Line]) -> bytes:
    from weasyprint import HTML

    return HTML(string=to_html(meta, cells)).write_pdf()


RENDERERS = {"csv": to_csv, "xlsx": to_xlsx, "pdf": to_pdf}


def render(format_: str, meta: dict[str, Any], cells: Sequence[Line]) -> bytes:
    return RENDERERS[format_](meta, cells)
