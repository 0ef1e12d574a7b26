"""factory_boy factories for the tickets domain.

Two ways to get a ticket, on purpose:

* ``services.ticket_open(...)`` (the ``open_ticket`` fixture): the real path,
  with permission checks, events, the first stage and the publish. Use it when
  the test is about an operation.
* ``TicketFactory``: a plain, fast row for reads (visibility, lists, query
  counts). It is still consistent: ``code`` and ``protocol`` come from the same
  ``services.next_counter`` sequences the operation uses (so a factory ticket
  and an opened one never collide), ``current_subprocess`` is the process's
  first subprocess and an open ``TicketStage`` is created for it. It records no
  events.
"""

import importlib
from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.utils import timezone
from factory.django import DjangoModelFactory

from tickets import roles, services
from tickets.documents import cnpj_check_digits, cpf_check_digits
from tickets.models import (
    Category,
    CategoryMatrix,
    Classification,
    Company,
    Customer,
    Origin,
    Process,
    RequestType,
    ServiceCatalogItem,
    Subprocess,
    Team,
    Ticket,
    TicketStage,
)

PASSWORD = "demo1234"

_roles_migration = importlib.import_module("tickets.migrations.0002_roles")
_ROLE_PERMISSIONS = {roles.AGENT: _roles_migration.AGENT, roles.SUPERVISOR: _roles_migration.SUPERVISOR}


# --- documents ----------------------------------------------------------------


def make_cpf(n: int) -> str:
    """A valid, unformatted CPF; distinct for distinct ``n`` < 10**8."""
    base9 = f"{100_000_000 + n:09d}"
    return base9 + cpf_check_digits(base9)


def make_cnpj(n: int, branch: int = 1) -> str:
    """A valid, unformatted numeric CNPJ (root ``n``, branch ``branch``)."""
    base12 = f"{10_000_000 + n:08d}{branch:04d}"
    return base12 + cnpj_check_digits(base12)


# --- users and roles --------------------------------------------------------------


def role_group(name: str) -> Group:
    """The role's group, recreated if a transactional test flushed it.

    Migration 0002 creates the groups, but a ``transaction=True`` test ends with
    a flush that empties ``auth_group``; later tests must still find them. The
    permission lists are the migration's own, so there is one definition.
    """
    group, created = Group.objects.get_or_create(name=name)
    if created:
        if name == roles.ADMIN:
            group.permissions.set(Permission.objects.all())
        else:
            group.permissions.set(
                Permission.objects.filter(content_type__app_label="tickets", codename__in=_ROLE_PERMISSIONS[name])
            )
    return group


def add_role(user, name: str):
    """Put ``user`` in a role group and drop the caches that remember the old roles."""
    user.groups.add(role_group(name))
    for cache in ("_role_group_names", "_perm_cache", "_group_perm_cache", "_user_perm_cache", "_team_ids"):
        user.__dict__.pop(cache, None)
    return user


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"operador{n}")
    first_name = factory.Sequence(lambda n: f"Operador {n}")
    last_name = "Silva"
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(PASSWORD)
    is_active = True

    @factory.post_generation
    def role(obj, create, extracted, **kwargs):
        """``UserFactory(role=roles.AGENT)``: the role group to put the user in."""
        if create and extracted:
            add_role(obj, extracted)


class AgentFactory(UserFactory):
    role = factory.PostGeneration(lambda obj, create, extracted, **kw: add_role(obj, extracted or roles.AGENT))


class SupervisorFactory(UserFactory):
    role = factory.PostGeneration(lambda obj, create, extracted, **kw: add_role(obj, extracted or roles.SUPERVISOR))


class AdminFactory(UserFactory):
    role = factory.PostGeneration(lambda obj, create, extracted, **kw: add_role(obj, extracted or roles.ADMIN))


# --- teams, companies, customers -------------------------------------------------------


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Equipe {n}")

    @factory.post_generation
    def members(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.members.add(*extracted)

    @factory.post_generation
    def supervisors(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.supervisors.add(*extracted)


class CompanyFactory(DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Provedor Filial {n}")
    cnpj = factory.Sequence(make_cnpj)
    city = "Campinas"
    state = "SP"


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Cliente {n}")
    document = factory.Sequence(make_cpf)
    email = factory.LazyAttribute(lambda c: f"cliente{c.document}@example.com")
    street = "Rua das Flores"
    number = "100"
    neighbourhood = "Centro"
    city = "Campinas"
    state = "SP"
    zip_code = "13010-000"


class CompanyCustomerFactory(CustomerFactory):
    document = factory.Sequence(lambda n: make_cnpj(50_000 + n))


# --- catalogue -------------------------------------------------------------------------


class CategoryFactory(DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Categoria {n}")
    parent = None


class RequestTypeFactory(DjangoModelFactory):
    class Meta:
        model = RequestType

    name = factory.Sequence(lambda n: f"Tipo {n}")


class ServiceCatalogItemFactory(DjangoModelFactory):
    class Meta:
        model = ServiceCatalogItem

    name = factory.Sequence(lambda n: f"Serviço {n}")


class CategoryMatrixFactory(DjangoModelFactory):
    class Meta:
        model = CategoryMatrix

    name = factory.Sequence(lambda n: f"Matriz {n}")
    category = factory.SubFactory(CategoryFactory)
    request_type = factory.SubFactory(RequestTypeFactory)
    catalog_item = factory.SubFactory(ServiceCatalogItemFactory)


class ProcessFactory(DjangoModelFactory):
    class Meta:
        model = Process

    name = factory.Sequence(lambda n: f"Processo {n}")


class SubprocessFactory(DjangoModelFactory):
    class Meta:
        model = Subprocess

    process = factory.SubFactory(ProcessFactory)
    name = factory.Sequence(lambda n: f"Subprocesso {n}")
    order = factory.Sequence(lambda n: n + 1)
    expected_hours = Decimal("4")


class ClassificationFactory(DjangoModelFactory):
    class Meta:
        model = Classification

    name = factory.Sequence(lambda n: f"Classificação {n}")
    kind = Classification.Kind.OPENING


def process_with_subprocesses(names=("Triagem", "Execução", "Validação"), hours=(4, 8, 2), **kwargs) -> Process:
    """A process whose subprocesses have orders 1, 2, 3 … in the order given."""
    process = ProcessFactory(**kwargs)
    for order, (name, h) in enumerate(zip(names, hours, strict=True), start=1):
        SubprocessFactory(process=process, name=name, order=order, expected_hours=Decimal(h))
    return process


# --- tickets --------------------------------------------------------------------------------


def _protocol(ticket) -> str:
    year = timezone.localtime(ticket.opened_at, timezone.get_default_timezone()).year
    return services.format_protocol(year, services.next_counter(f"protocol:{year}"))


class TicketFactory(DjangoModelFactory):
    """A consistent ticket row without going through ``ticket_open`` (see module doc)."""

    class Meta:
        model = Ticket
        skip_postgeneration_save = True

    opened_at = factory.LazyFunction(timezone.now)
    code = factory.LazyFunction(lambda: services.next_counter("ticket_code"))
    protocol = factory.LazyAttribute(_protocol)
    customer = factory.SubFactory(CustomerFactory)
    company = factory.SubFactory(CompanyFactory)
    team = factory.SubFactory(TeamFactory)
    process = factory.LazyFunction(process_with_subprocesses)
    current_subprocess = factory.LazyAttribute(lambda t: t.process.subprocesses.order_by("order").first())
    origin = Origin.PHONE
    opened_by = factory.SubFactory(AgentFactory)
    assignee = None
    customer_report = "Cliente sem conexão desde ontem."

    @factory.post_generation
    def stage(obj, create, extracted, **kwargs):
        if create and obj.current_subprocess is not None and obj.closed_at is None:
            hours = float(obj.current_subprocess.expected_hours)
            TicketStage.objects.create(
                ticket=obj,
                subprocess=obj.current_subprocess,
                started_at=obj.opened_at,
                due_at=obj.opened_at + timedelta(hours=hours),
                started_by=obj.opened_by,
            )

    @factory.post_generation
    def watchers(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.watchers.add(*extracted)
