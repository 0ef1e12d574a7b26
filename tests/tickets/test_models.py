from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tests import factories as f
from tickets.models import Category, Company, Customer, ServiceOrder, Subprocess, TicketStage

SP = ZoneInfo("America/Sao_Paulo")
pytestmark = pytest.mark.django_db


# --- customers and companies ----------------------------------------------------------------


def test_customer_document_is_stored_without_punctuation():
    customer = Customer(name="Maria", document="529.982.247-25")
    customer.full_clean()
    customer.save()
    customer.refresh_from_db()
    assert customer.document == "52998224725"


def test_customer_alphanumeric_cnpj_in_lower_case_is_stored_upper_case_without_punctuation():
    customer = Customer(name="Loja Nova Ltda", document="12.abc.345/01de-35")
    customer.full_clean()
    customer.save()
    customer.refresh_from_db()
    assert customer.document == "12ABC34501DE35"
    assert customer.is_company


def test_customer_with_invalid_cpf_is_refused_by_full_clean_and_not_saved():
    customer = Customer(name="Maria", document="529.982.247-26")
    with pytest.raises(ValidationError) as exc:
        customer.full_clean()
    assert exc.value.message_dict == {"document": ["CPF inválido: confira os dígitos verificadores."]}
    assert Customer.objects.count() == 0


def test_customer_with_invalid_cnpj_is_refused_by_full_clean():
    customer = Customer(name="Loja", document="12.ABC.345/01DE-36")
    with pytest.raises(ValidationError) as exc:
        customer.full_clean()
    assert exc.value.message_dict == {"document": ["CNPJ inválido: confira os dígitos verificadores."]}


def test_customer_with_repeated_digit_cpf_is_refused():
    with pytest.raises(ValidationError) as exc:
        Customer(name="Maria", document="111.111.111-11").full_clean()
    assert exc.value.message_dict["document"] == ["CPF inválido: confira os dígitos verificadores."]


def test_customer_document_is_unique_whatever_the_punctuation():
    f.CustomerFactory(document="52998224725")
    duplicate = Customer(name="Outra Maria", document="529.982.247-25")
    with pytest.raises(ValidationError) as exc:
        duplicate.full_clean()
    assert list(exc.value.message_dict) == ["document"]
    assert "CPF/CNPJ já existe" in exc.value.message_dict["document"][0]


def test_customer_name_document_concatenates_name_and_formatted_document():
    customer = f.CustomerFactory(name="Maria Oliveira", document="52998224725")
    assert customer.name_document == "Maria Oliveira - 529.982.247-25"
    assert customer.document_display == "529.982.247-25"
    assert not customer.is_company


def test_company_cnpj_is_stored_without_punctuation():
    company = Company(name="NetRápido", cnpj="11.222.333/0001-81")
    company.full_clean()
    company.save()
    company.refresh_from_db()
    assert company.cnpj == "11222333000181"


def test_company_with_a_cpf_instead_of_cnpj_is_refused():
    with pytest.raises(ValidationError) as exc:
        Company(name="NetRápido", cnpj="52998224725").full_clean()
    assert exc.value.message_dict == {"cnpj": ["CNPJ inválido: confira os dígitos verificadores."]}


def test_factories_generate_valid_documents():
    for customer in f.CustomerFactory.create_batch(3) + f.CompanyCustomerFactory.create_batch(2):
        customer.full_clean()
    for company in f.CompanyFactory.create_batch(3):
        company.full_clean()


def test_address_line_joins_street_number_neighbourhood_and_city():
    customer = f.CustomerFactory.build(
        street="Rua das Flores", number="100", neighbourhood="Centro", city="Campinas", state="SP"
    )
    assert customer.address_line == "Rua das Flores, 100 - Centro, Campinas/SP"


# --- category tree ------------------------------------------------------------------------------


def _chain(depth: int) -> list[Category]:
    nodes: list[Category] = []
    parent = None
    for level in range(1, depth + 1):
        node = Category(name=f"Nível {level}", parent=parent)
        node.full_clean()
        node.save()
        nodes.append(node)
        parent = node
    return nodes


def test_category_levels_follow_the_parent_up_to_five():
    nodes = _chain(5)
    assert [n.level for n in nodes] == [1, 2, 3, 4, 5]
    assert nodes[-1].path == "Nível 1 / Nível 2 / Nível 3 / Nível 4 / Nível 5"


def test_sixth_category_level_is_refused_by_clean_in_portuguese_and_nothing_is_saved():
    fifth = _chain(5)[-1]
    sixth = Category(name="Nível 6", parent=fifth)
    with pytest.raises(ValidationError) as exc:
        sixth.full_clean()
    assert exc.value.message_dict == {"parent": ["Uma categoria pode ter no máximo 5 níveis."]}
    assert Category.objects.count() == 5
    assert not Category.objects.filter(name="Nível 6").exists()


def test_database_refuses_a_sixth_category_level_even_without_clean():
    fifth = _chain(5)[-1]
    with pytest.raises(IntegrityError), transaction.atomic():
        Category.objects.create(name="Nível 6", parent=fifth)
    assert Category.objects.count() == 5


def test_database_check_constraint_refuses_level_zero():
    with pytest.raises(IntegrityError), transaction.atomic():
        Category.objects.bulk_create([Category(name="Raiz", level=0)])


def test_category_cannot_be_its_own_ancestor():
    first, second, _third = _chain(3)
    first.parent = second
    with pytest.raises(ValidationError) as exc:
        first.clean()
    assert exc.value.message_dict == {"parent": ["Uma categoria não pode ser pai de si mesma."]}


def test_category_name_is_unique_under_the_same_parent():
    root = f.CategoryFactory(name="Internet")
    f.CategoryFactory(name="Lentidão", parent=root)
    with pytest.raises(IntegrityError), transaction.atomic():
        Category.objects.create(name="Lentidão", parent=root)


def test_category_matrix_is_unique_per_category_and_request_type():
    matrix = f.CategoryMatrixFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        f.CategoryMatrixFactory(category=matrix.category, request_type=matrix.request_type)


def test_subprocess_needs_a_positive_expected_duration():
    process = f.ProcessFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Subprocess.objects.create(process=process, name="Zero", order=1, expected_hours=0)


# --- tickets, stages, service orders ------------------------------------------------------------


def test_unassigned_ticket_shows_sem_resgate():
    ticket = f.TicketFactory()
    assert ticket.assignee_display == "Sem resgate"


def test_assigned_ticket_shows_full_name_of_the_assignee():
    agent = f.AgentFactory(first_name="Ana", last_name="Souza")
    ticket = f.TicketFactory(assignee=agent)
    assert ticket.assignee_display == "Ana Souza"


def test_ticket_factory_builds_code_protocol_and_open_stage_consistently():
    first = f.TicketFactory(opened_at=datetime(2026, 5, 4, 9, 0, tzinfo=SP))
    second = f.TicketFactory(opened_at=datetime(2026, 5, 4, 9, 5, tzinfo=SP))
    assert (first.protocol, second.protocol) == ("2026.000001", "2026.000002")
    assert second.code == first.code + 1
    assert str(first) == f"{first.code} (2026.000001)"
    stage = TicketStage.objects.get(ticket=first)
    assert stage.subprocess == first.current_subprocess
    assert stage.due_at == datetime(2026, 5, 4, 13, 0, tzinfo=SP)  # Triagem: 4 h


def test_only_one_unfinished_stage_per_ticket():
    ticket = f.TicketFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketStage.objects.create(
            ticket=ticket, subprocess=ticket.current_subprocess, due_at=ticket.opened_at + timedelta(hours=1)
        )


def test_stage_is_late_only_after_its_due_time():
    ticket = f.TicketFactory()
    stage = ticket.stages.get()
    start = datetime(2026, 5, 4, 9, 0, tzinfo=SP)
    stage.due_at = start + timedelta(hours=4)
    stage.finished_at = start + timedelta(hours=4)
    assert not stage.is_late
    stage.finished_at = start + timedelta(hours=4, seconds=1)
    assert stage.is_late


def test_service_order_without_deadline_is_never_late():
    order = ServiceOrder(due_at=None)
    assert not order.is_late
    due = datetime(2026, 5, 4, 18, 0, tzinfo=SP)
    assert ServiceOrder(due_at=due, completed_at=due + timedelta(minutes=1)).is_late
    assert not ServiceOrder(due_at=due, completed_at=due).is_late


def test_moving_a_subtree_that_would_pass_five_levels_is_refused():
    _chain(4)  # Nível 1..4
    other_root = Category.objects.create(name="Outra raiz")
    branch = Category.objects.create(name="Ramo", parent=other_root)  # level 2
    leaf = Category.objects.create(name="Folha", parent=branch)  # level 3
    branch.parent = Category.objects.get(name="Nível 4")  # branch -> 5, leaf would be 6
    with pytest.raises(ValidationError) as exc:
        branch.full_clean()
    assert exc.value.message_dict == {"parent": ["Uma categoria pode ter no máximo 5 níveis."]}
    leaf.refresh_from_db()
    assert leaf.level == 3


def test_moving_a_subtree_updates_the_level_of_every_descendant():
    first, second, _third = _chain(3)
    branch = Category.objects.create(name="Ramo")  # level 1
    child = Category.objects.create(name="Filho", parent=branch)  # level 2
    grandchild = Category.objects.create(name="Neto", parent=child)  # level 3
    branch.parent = second  # branch -> 3, child -> 4, grandchild -> 5
    branch.full_clean()
    branch.save()
    assert [Category.objects.get(pk=c.pk).level for c in (branch, child, grandchild)] == [3, 4, 5]
    branch.parent = None  # and back to the root
    branch.full_clean()
    branch.save()
    assert [Category.objects.get(pk=c.pk).level for c in (branch, child, grandchild)] == [1, 2, 3]
