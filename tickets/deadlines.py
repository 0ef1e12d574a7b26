"""How a subprocess stage's "Fim previsto" is computed.

``tickets`` cannot import ``sla`` (dependencies point one way), so the SLA app
registers its business-calendar calculator here when it loads. Until then a
stage is due its expected duration of wall-clock time after it starts.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from tickets.models import Subprocess, Ticket

StageDueCalculator = Callable[[Ticket, Subprocess, datetime], datetime]


def _wall_clock(ticket: Ticket, subprocess: Subprocess, start: datetime) -> datetime:
    return start + timedelta(hours=float(Decimal(subprocess.expected_hours)))


_calculator: StageDueCalculator = _wall_clock


def register_stage_due_calculator(fn: StageDueCalculator) -> None:
    global _calculator
    _calculator = fn


def stage_due(ticket: Ticket, subprocess: Subprocess, start: datetime) -> datetime:
    return _calculator(ticket, subprocess, start)
