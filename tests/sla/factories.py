"""factory_boy factories of the SLA app (calendars, policies, reasons, clocks)."""

from datetime import time
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from sla.models import (
    BusinessCalendar,
    Holiday,
    MatrixPolicy,
    ProcessPolicy,
    SlaPolicy,
    SlaReason,
    TimeUnit,
    WorkingInterval,
)

OFFICE = ((time(8), time(12)), (time(13), time(18)))


class CalendarFactory(DjangoModelFactory):
    """Monday to Friday 08:00-12:00 and 13:00-18:00 (9 business hours a day), no holidays."""

    class Meta:
        model = BusinessCalendar
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Comercial {n}")
    national_holidays = False
    state = ""

    @factory.post_generation
    def intervals(obj, create, extracted, **kwargs):
        if not create or obj.always_open:
            return
        wanted = OFFICE if extracted is None else extracted
        WorkingInterval.objects.bulk_create(
            WorkingInterval(calendar=obj, weekday=day, start=start, end=end)
            for day in range(5)
            for start, end in wanted
        )


class AlwaysOpenCalendarFactory(CalendarFactory):
    name = factory.Sequence(lambda n: f"Plantão 24x7 {n}")
    always_open = True


class HolidayFactory(DjangoModelFactory):
    class Meta:
        model = Holiday

    name = factory.Sequence(lambda n: f"Feriado municipal {n}")


class PolicyFactory(DjangoModelFactory):
    """8 business hours to solve, 2 to answer first."""

    class Meta:
        model = SlaPolicy

    name = factory.Sequence(lambda n: f"Política {n}")
    calendar = factory.SubFactory(CalendarFactory)
    resolution_amount = Decimal("8")
    resolution_unit = TimeUnit.HOURS
    first_response_amount = Decimal("2")


class ProcessPolicyFactory(DjangoModelFactory):
    class Meta:
        model = ProcessPolicy

    policy = factory.SubFactory(PolicyFactory)


class MatrixPolicyFactory(DjangoModelFactory):
    class Meta:
        model = MatrixPolicy

    policy = factory.SubFactory(PolicyFactory)


class ReasonFactory(DjangoModelFactory):
    class Meta:
        model = SlaReason

    name = factory.Sequence(lambda n: f"Motivo {n}")
    kind = SlaReason.Kind.INCREMENT
    active = True
