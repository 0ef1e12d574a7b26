"""``manage.py seed_demo``: realistic, consistent demo data that later operations continue."""

from collections import Counter as Tally
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from tickets import demo
from tickets.documents import is_valid_cnpj, is_valid_cpf
from tickets.models import (
    Category,
    Comment,
    Company,
    Counter,
    Customer,
    EventKind,
    Origin,
    Process,
    ServiceOrder,
    ServiceOrderStatus,
    Team,
    Ticket,
    TicketEvent,
    TicketStage,
)
from tickets.services import ticket_open

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def seeded() -> str:
    out = StringIO()
    call_command("seed_demo", tickets=200, seed=1, stdout=out)
    return out.getvalue()


def test_seeds_the_requested_number_of_tickets_and_prints_the_logins(seeded):
    assert Ticket.objects.count() == 200
    assert (
        "admin" in seeded and "supervisor" in seeded and "agente" in seeded and "demo1234" in seeded
    )


def test_tickets_cover_every_state(seeded):
    now = timezone.now()
    open_ = Ticket.objects.filter(closed_at__isnull=True)
    closed = Ticket.objects.filter(closed_at__isnull=False)
    assert open_.filter(assignee__isnull=True).exists()  # "Sem resgate"
    assert open_.filter(assignee__isnull=False).exists()
    assert closed.count() > open_.count()
    late_stage = TicketStage.objects.filter(finished_at__isnull=True, due_at__lt=now)
    on_time_stage = TicketStage.objects.filter(finished_at__isnull=True, due_at__gte=now)
    assert late_stage.exists() and on_time_stage.exists()
    assert TicketStage.objects.filter(finished_at__isnull=False).exists()
    assert set(Ticket.objects.values_list("service_order_status", flat=True)) == set(
        ServiceOrderStatus.values
    )
    assert (
        ServiceOrder.objects.exclude(status=ServiceOrder.Status.COMPLETED)
        .filter(due_at__lt=now)
        .exists()
    )
    assert set(Ticket.objects.values_list("origin", flat=True)) == set(Origin.values)
    assert Ticket.watchers.through.objects.exists()
    assert Comment.objects.exists()
    kinds = set(TicketEvent.objects.values_list("kind", flat=True))
    assert {
        EventKind.CREATED,
        EventKind.STARTED,
        EventKind.SUBPROCESS_STARTED,
        EventKind.SUBPROCESS_FINISHED,
        EventKind.CLAIMED,
        EventKind.COMMENT_ADDED,
        EventKind.SERVICE_ORDER_CREATED,
        EventKind.FINALIZE_COMMENT,
        EventKind.CLOSED,
    } <= kinds


def test_ticket_lives_are_consistent(seeded):
    now = timezone.now()
    window_start = now - timedelta(days=60, minutes=5)
    for ticket in Ticket.objects.prefetch_related(
        "stages", "events", "service_orders"
    ).select_related("customer"):
        assert window_start <= ticket.opened_at <= now
        stages = sorted(ticket.stages.all(), key=lambda s: s.started_at)
        events = list(ticket.events.all())  # ordered by created_at, id
        assert ticket.event_count == len(events)
        assert stages[0].started_at == ticket.opened_at
        assert events[0].kind == EventKind.CREATED and events[0].created_at == ticket.opened_at
        assert all(ticket.opened_at <= e.created_at <= now for e in events)
        for before, after in zip(stages, stages[1:], strict=False):
            assert before.finished_at == after.started_at
        unfinished = [s for s in stages if s.finished_at is None]
        if ticket.closed_at is None:
            assert len(unfinished) == 1
            assert unfinished[0].subprocess_id == ticket.current_subprocess_id
            assert ticket.closed_by_id is None and ticket.closing_classification_id is None
        else:
            assert unfinished == []
            assert ticket.opened_at < ticket.closed_at <= now
            assert ticket.closed_by_id is not None and ticket.closing_classification_id is not None
            assert events[-1].kind == EventKind.CLOSED and events[-1].created_at == ticket.closed_at
        orders = sorted(ticket.service_orders.all(), key=lambda o: (o.created_at, o.id))
        assert ticket.service_order_status == (
            orders[-1].status if orders else ServiceOrderStatus.NONE
        )
        for field in Ticket.ADDRESS_FIELDS:
            assert getattr(ticket, field) == getattr(ticket.customer, field)


def test_assignees_and_openers_belong_to_the_ticket_team(seeded):
    members = {
        team.pk: set(team.members.values_list("pk", flat=True)) for team in Team.objects.all()
    }
    for team_id, assignee_id, opened_by_id in Ticket.objects.values_list(
        "team_id", "assignee_id", "opened_by_id"
    ):
        assert opened_by_id in members[team_id]
        assert assignee_id is None or assignee_id in members[team_id]


def test_every_customer_and_company_document_is_valid(seeded):
    documents = list(Customer.objects.values_list("document", flat=True))
    assert documents
    assert all(is_valid_cpf(d) if len(d) == 11 else is_valid_cnpj(d) for d in documents)
    assert any(len(d) == 11 for d in documents) and any(len(d) == 14 for d in documents)
    cnpjs = list(Company.objects.values_list("cnpj", flat=True))
    assert len(cnpjs) >= 2 and all(is_valid_cnpj(c) for c in cnpjs)
    assert any(not c.isdigit() for c in cnpjs)  # one alphanumeric CNPJ


def test_protocols_and_codes_are_unique_and_sequential_in_opening_order(seeded):
    rows = list(Ticket.objects.order_by("opened_at", "code").values_list("code", "protocol"))
    codes = [code for code, _ in rows]
    assert codes == list(range(1, 201))
    by_year: dict[str, list[int]] = {}
    for _, protocol in rows:
        year, number = protocol.split(".")
        assert len(number) >= 6
        by_year.setdefault(year, []).append(int(number))
    for numbers in by_year.values():
        assert numbers == list(range(1, len(numbers) + 1))


def test_catalogue_has_deep_category_paths_and_ordered_subprocesses(seeded):
    paths = {c.path for c in Category.objects.filter(level=5)}
    assert "Suporte Técnico / Internet Fibra / Sem conexão / LOS vermelho / ONU" in paths
    install = Process.objects.get(name="Ativação / Instalação Fibra")
    steps = [(s.name, float(s.expected_hours)) for s in install.subprocesses.order_by("order")]
    assert steps == [
        ("Análise de viabilidade", 4),
        ("Agendamento da instalação", 24),
        ("Instalação em campo", 48),
        ("Validação do serviço", 8),
    ]


def test_a_ticket_opened_afterwards_continues_code_and_protocol(seeded):
    agent = User.objects.get(username="agente")
    team = Team.objects.get(name="Suporte N1")
    year = timezone.localtime().year
    seeded_this_year = Ticket.objects.filter(protocol__startswith=f"{year}.").count()
    ticket = ticket_open(
        actor=agent,
        customer=Customer.objects.first(),
        company=Company.objects.first(),
        team=team,
        process=Process.objects.get(name="Suporte Técnico"),
        origin=Origin.WHATSAPP,
    )
    assert ticket.code == 201
    assert ticket.protocol == f"{year}.{seeded_this_year + 1:06d}"
    assert Counter.objects.get(key="ticket_code").value == 201


def test_demo_logins_authenticate_with_the_demo_password(seeded):
    for username in ("admin", "supervisor", "agente"):
        assert authenticate(username=username, password="demo1234") is not None, username
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.groups.filter(name="Administrador").exists()
    supervisor = User.objects.get(username="supervisor")
    assert not supervisor.is_staff
    assert supervisor.groups.filter(name="Supervisor").exists()
    assert supervisor.supervised_teams.count() == 2
    agent = User.objects.get(username="agente")
    assert agent.groups.filter(name="Agente").exists()
    assert agent.teams.filter(name="Suporte N1").exists()
    assert User.objects.filter(username__startswith="agente").count() >= 8


def test_a_second_run_on_a_database_with_tickets_does_nothing(seeded):
    before = (
        Ticket.objects.count(),
        Customer.objects.count(),
        TicketEvent.objects.count(),
        User.objects.count(),
    )
    out = StringIO()
    call_command("seed_demo", tickets=50, seed=2, stdout=out)
    assert "Nothing done" in out.getvalue()
    after = (
        Ticket.objects.count(),
        Customer.objects.count(),
        TicketEvent.objects.count(),
        User.objects.count(),
    )
    assert after == before


def _fingerprint() -> list[tuple]:
    return list(
        Ticket.objects.order_by("code").values_list(
            "protocol",
            "customer__document",
            "origin",
            "process__name",
            "assignee__username",
            "opened_at",
            "closed_at",
            "service_order_status",
        )
    )


def test_the_same_seed_and_time_give_the_same_data():
    now = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # the window spans no new year
    demo.seed(tickets=60, seed=7, now=now)
    first = _fingerprint()
    TicketEvent.objects.all().delete()
    Ticket.objects.all().delete()
    Customer.objects.all().delete()
    Counter.objects.all().delete()
    demo.seed(tickets=60, seed=7, now=now)
    assert _fingerprint() == first
    assert Tally(status for *_, status in first)[ServiceOrderStatus.NONE] < 60


@pytest.mark.postgres
def test_postgres_bulk_load_restores_every_index_and_foreign_key():
    def schema() -> set[tuple]:
        tables = [
            m._meta.db_table
            for m in (Ticket, TicketStage, TicketEvent, ServiceOrder, Comment, Customer)
        ]
        with connection.cursor() as cursor:
            # Compared by structure, not by text: PostgreSQL deparses a
            # recreated partial index's IN-list predicate differently.
            cursor.execute(
                "SELECT t.relname, c.relname, i.indkey::text, i.indisunique, i.indisvalid, "
                "i.indpred IS NOT NULL, am.amname FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
                "JOIN pg_am am ON am.oid = c.relam WHERE t.relname = ANY(%s)",
                [tables],
            )
            indexes = set(cursor.fetchall())
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid::regclass::text = ANY(%s)",
                [tables],
            )
            return indexes | set(cursor.fetchall())

    before = schema()
    call_command("seed_demo", tickets=300, seed=3, bulk="on", stdout=StringIO())
    assert schema() == before
    assert Ticket.objects.count() == 300


def test_other_apps_hear_about_the_seed_inside_its_transaction():
    heard = []

    def receiver(sender, result, **kwargs):
        heard.append((result.first_ticket_id, result.last_ticket_id, Ticket.objects.count()))

    demo.demo_seeded.connect(receiver)
    try:
        call_command("seed_demo", tickets=30, seed=4, stdout=StringIO())
    finally:
        demo.demo_seeded.disconnect(receiver)
    first, last, count_then = heard[0]
    assert count_then == 30
    assert set(Ticket.objects.values_list("pk", flat=True)) == set(range(first, last + 1))


def test_an_operator_created_before_keeps_their_password():
    User.objects.create_user(username="admin", password="s3nh@-pr0pria")
    out = StringIO()
    call_command("seed_demo", tickets=30, seed=4, stdout=out)
    assert authenticate(username="admin", password="s3nh@-pr0pria") is not None
    assert authenticate(username="admin", password="demo1234") is None
    assert "already existed" in out.getvalue()
