"""The ticket screens: pages, the tools of the detail page, and the lookups behind the forms.

Every tool is tested on its happy path and with one bad input, which must
answer 400 with the operation's pt-BR message and change nothing. The
outsider (an agent of another team) must get 404 everywhere.
"""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from tests import factories as f
from tickets import services
from tickets.models import (
    Attachment,
    Comment,
    Customer,
    EventKind,
    Origin,
    ServiceOrder,
    Ticket,
    TicketEvent,
)

HTMX = {"HX-Request": "true"}


def detail(ticket: Ticket) -> str:
    return reverse("tickets:detail", args=[ticket.pk])


def tool(name: str, ticket: Ticket, *extra: int) -> str:
    return reverse(f"tickets:{name}", args=[ticket.pk, *extra])


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client

    return login


# --- authentication ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/tickets/new/", "/tickets/1/", "/customers/search/?q=ma"])
def test_anonymous_user_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.django_db
def test_login_page_is_public_and_in_portuguese(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert "Esqueci minha senha" in text(response)
    assert reverse("password_reset") in text(response)


@pytest.mark.django_db
def test_password_reset_page_is_public(client):
    assert client.get(reverse("password_reset")).status_code == 200


def test_logout_is_a_post_form_in_the_top_bar(as_user, agent):
    html = text(as_user(agent).get("/"))
    assert f'<form method="post" action="{reverse("logout")}">' in html
    assert "Alterar senha" in html


# --- home ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["agent", "supervisor", "admin_user"])
def test_each_role_sees_home_detail_and_new_form(request, as_user, open_ticket, who):
    user = request.getfixturevalue(who)
    client = as_user(user)
    home = client.get("/")
    assert home.status_code == 200
    assert open_ticket.protocol in text(home)
    assert client.get(detail(open_ticket)).status_code == 200
    assert client.get(reverse("tickets:new")).status_code == 200


def test_home_lists_unassigned_ticket_as_sem_resgate_with_formatted_document(as_user, agent, open_ticket):
    html = text(as_user(agent).get("/"))
    assert "Sem resgate" in html
    assert "529.982.247-25" in html
    assert "Aberto" in html


def test_home_search_by_protocol_and_status_filter(as_user, agent, open_ticket, claimed_ticket, team, customer,
                                                   company, process):
    other = services.ticket_open(actor=agent, customer=f.CustomerFactory(name="Zé Ninguém"), company=company,
                                 team=team, process=process, origin=Origin.EMAIL)
    client = as_user(agent)
    html = text(client.get("/", {"q": other.protocol}))
    assert other.protocol in html and open_ticket.protocol not in html
    html = text(client.get("/", {"q": "Zé"}))
    assert other.protocol in html and open_ticket.protocol not in html
    html = text(client.get("/", {"status": "closed"}))
    assert "Nenhum atendimento" in html


def test_home_htmx_request_gets_only_the_results_partial(as_user, agent, open_ticket):
    response = as_user(agent).get("/", headers=HTMX)
    html = text(response)
    assert html.lstrip().startswith('<div id="ticket-results">')
    assert "<html" not in html


def test_home_query_count_does_not_grow_with_tickets(as_user, agent, team, customer, company, process,
                                                     django_assert_num_queries):
    def open_one():
        services.ticket_open(actor=agent, customer=customer, company=company, team=team, process=process,
                             origin=Origin.PHONE)

    open_one()
    client = as_user(agent)
    client.get("/")  # warm the session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get("/")
    for _ in range(5):
        open_one()
    with django_assert_num_queries(len(few)):
        client.get("/")


# --- detail and visibility -------------------------------------------------------------------


def test_detail_shows_stages_events_and_escapes_user_text(as_user, agent, claimed_ticket):
    services.ticket_comment_add(actor=agent, ticket=claimed_ticket, body="<script>alert(1)</script>")
    html = text(as_user(agent).get(detail(claimed_ticket)))
    assert "Triagem" in html and "Em dia" in html
    assert "Resgate de atendimento" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_detail_shows_events_without_actor_as_the_system(as_user, agent, claimed_ticket):
    from tickets.events import record
    from tickets.models import EventKind

    record(ticket=claimed_ticket, kind=EventKind.SLA_CHANGED, actor=None, data={"change": "breached"})
    response = as_user(agent).get(detail(claimed_ticket))
    assert response.status_code == 200
    assert "Sistema" in text(response)


def test_detail_query_count_does_not_grow_with_comments_and_attachments(as_user, agent, claimed_ticket):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = as_user(agent)
    client.get(detail(claimed_ticket))
    with CaptureQueriesContext(connection) as before:
        client.get(detail(claimed_ticket))
    for i in range(3):
        services.ticket_comment_add(actor=agent, ticket=claimed_ticket, body=f"comentário {i}")
        services.attachment_add(actor=agent, ticket=claimed_ticket,
                                uploaded=SimpleUploadedFile(f"a{i}.txt", b"x", content_type="text/plain"))
        services.service_order_create(actor=agent, ticket=claimed_ticket, description=f"O.S. {i}")
    with CaptureQueriesContext(connection) as after:
        client.get(detail(claimed_ticket))
    assert len(after) == len(before)


def test_outsider_gets_404_on_someone_elses_ticket(as_user, outsider, other_team, claimed_ticket):
    client = as_user(outsider)
    assert client.get(detail(claimed_ticket)).status_code == 404
    assert client.get(tool("edit", claimed_ticket)).status_code == 404
    assert client.post(tool("claim", claimed_ticket)).status_code == 404
    assert client.post(tool("comment", claimed_ticket), {"body": "oi"}).status_code == 404
    assert not Comment.objects.filter(ticket=claimed_ticket).exists()


def test_outsider_gets_404_on_attachment(as_user, agent, outsider, other_team, claimed_ticket):
    attachment = services.attachment_add(actor=agent, ticket=claimed_ticket,
                                         uploaded=SimpleUploadedFile("a.txt", b"x", content_type="text/plain"))
    client = as_user(outsider)
    assert client.get(reverse("tickets:attachment_download", args=[attachment.pk])).status_code == 404
    assert client.post(reverse("tickets:attachment_delete", args=[attachment.pk])).status_code == 404
    assert Attachment.objects.filter(pk=attachment.pk).exists()


def test_tools_offered_follow_the_rules(as_user, agent, open_ticket, claimed_ticket):
    html = text(as_user(agent).get(detail(claimed_ticket)))
    assert tool("release", claimed_ticket) in html
    assert tool("finalize", claimed_ticket) in html
    assert tool("claim", claimed_ticket) not in html


def test_tool_get_renders_its_own_page_as_no_js_fallback(as_user, agent, claimed_ticket):
    response = as_user(agent).get(tool("transfer", claimed_ticket))
    assert response.status_code == 200
    assert "Operador de destino" in text(response)


# --- claim, release, transfer --------------------------------------------------------------------


def test_claim_happy_path_redirects_htmx_to_detail(as_user, agent, open_ticket):
    response = as_user(agent).post(tool("claim", open_ticket), headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == detail(open_ticket)
    open_ticket.refresh_from_db()
    assert open_ticket.assignee == agent


def test_claim_of_a_claimed_ticket_is_400_and_changes_nothing(as_user, supervisor, agent, claimed_ticket):
    response = as_user(supervisor).post(tool("claim", claimed_ticket), headers=HTMX)
    assert response.status_code == 400
    assert "já foi resgatado por Ana Souza" in text(response)
    assert response["HX-Retarget"] == "#ticket-alerts"
    claimed_ticket.refresh_from_db()
    assert claimed_ticket.assignee == agent


def test_claim_without_htmx_redirects_and_errors_render_a_page(as_user, agent, supervisor, open_ticket):
    response = as_user(agent).post(tool("claim", open_ticket))
    assert response.status_code == 302 and response["Location"] == detail(open_ticket)
    response = as_user(supervisor).post(tool("claim", open_ticket))
    assert response.status_code == 400
    assert "<html" in text(response) and "já foi resgatado" in text(response)


def test_release_happy_path(as_user, agent, claimed_ticket):
    response = as_user(agent).post(tool("release", claimed_ticket))
    assert response.status_code == 302
    claimed_ticket.refresh_from_db()
    assert claimed_ticket.assignee is None


def test_release_of_unassigned_ticket_is_400(as_user, supervisor, open_ticket):
    response = as_user(supervisor).post(tool("release", open_ticket), headers=HTMX)
    assert response.status_code == 400
    assert "Este atendimento não está resgatado." in text(response)


def test_transfer_to_teammate_goes_home_when_ticket_leaves_view(as_user, agent, teammate, claimed_ticket):
    response = as_user(agent).post(
        tool("transfer", claimed_ticket), {"to_user": teammate.pk, "comment": "Segue com você."}, headers=HTMX
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("home")
    claimed_ticket.refresh_from_db()
    assert claimed_ticket.assignee == teammate
    assert Comment.objects.filter(ticket=claimed_ticket, body="Segue com você.").exists()


def test_transfer_without_destination_is_400_with_form(as_user, agent, claimed_ticket):
    response = as_user(agent).post(tool("transfer", claimed_ticket), {"comment": "x"}, headers=HTMX)
    assert response.status_code == 400
    html = text(response)
    assert "Escolha o operador ou a equipe de destino." in html
    assert html.lstrip().startswith('<form id="tool-transfer-form"')
    claimed_ticket.refresh_from_db()
    assert claimed_ticket.assignee == agent


def test_worker_tool_on_unclaimed_ticket_is_403_with_message(as_user, agent, open_ticket):
    response = as_user(agent).post(tool("finalize", open_ticket), {"closing_classification": "", "comment": ""})
    # Form errors come first: the form is checked before the operation runs.
    assert response.status_code == 400
    response = as_user(agent).post(tool("subprocess_finish", open_ticket), headers=HTMX)
    assert response.status_code == 403
    assert "Resgate o atendimento antes de trabalhar nele." in text(response)


# --- comments, attachments, watchers --------------------------------------------------------------


def test_comment_happy_path(as_user, agent, claimed_ticket):
    response = as_user(agent).post(tool("comment", claimed_ticket), {"body": "Cliente retornou."}, headers=HTMX)
    assert response["HX-Redirect"] == detail(claimed_ticket)
    assert Comment.objects.filter(ticket=claimed_ticket, body="Cliente retornou.").exists()


def test_empty_comment_is_400_and_nothing_saved(as_user, agent, claimed_ticket):
    response = as_user(agent).post(tool("comment", claimed_ticket), {"body": "   "}, headers=HTMX)
    assert response.status_code == 400
    assert "Escreva o comentário." in text(response)
    assert not Comment.objects.filter(ticket=claimed_ticket).exists()


def test_attach_download_and_delete(as_user, agent, claimed_ticket):
    client = as_user(agent)
    upload = SimpleUploadedFile("laudo.txt", b"laudo tecnico", content_type="text/plain")
    response = client.post(tool("attach", claimed_ticket), {"file": upload, "description": "Laudo"}, headers=HTMX)
    assert response["HX-Redirect"] == detail(claimed_ticket)
    attachment = Attachment.objects.get(ticket=claimed_ticket)

    download = client.get(reverse("tickets:attachment_download", args=[attachment.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"laudo tecnico"
    assert "attachment" in download["Content-Disposition"] and "laudo.txt" in download["Content-Disposition"]
    assert TicketEvent.objects.filter(ticket=claimed_ticket, kind=EventKind.ATTACHMENT_DOWNLOADED).exists()

    response = client.post(reverse("tickets:attachment_delete", args=[attachment.pk]), headers=HTMX)
    assert response["HX-Redirect"] == detail(claimed_ticket)
    assert not Attachment.objects.filter(pk=attachment.pk).exists()


def test_attach_forbidden_type_is_400(as_user, agent, claimed_ticket):
    upload = SimpleUploadedFile("virus.exe", b"MZ", content_type="application/octet-stream")
    response = as_user(agent).post(tool("attach", claimed_ticket), {"file": upload}, headers=HTMX)
    assert response.status_code == 400
    assert "Tipo de arquivo não permitido (.exe)" in text(response)
    assert not Attachment.objects.exists()


def test_watch_and_unwatch(as_user, agent, teammate, claimed_ticket):
    response = as_user(agent).post(tool("watch", claimed_ticket), {"user": teammate.pk})
    assert response.status_code == 302
    assert claimed_ticket.watchers.filter(pk=teammate.pk).exists()
    # The watcher sees the ticket now and may leave it.
    client = as_user(teammate)
    assert client.get(detail(claimed_ticket)).status_code == 200
    response = client.post(tool("unwatch", claimed_ticket), {"user": teammate.pk}, headers=HTMX)
    assert response["HX-Redirect"] == reverse("home")
    assert not claimed_ticket.watchers.exists()


def test_watch_twice_is_400(as_user, agent, teammate, claimed_ticket):
    services.ticket_watcher_add(actor=agent, ticket=claimed_ticket, user=teammate)
    response = as_user(agent).post(tool("watch", claimed_ticket), {"user": teammate.pk}, headers=HTMX)
    assert response.status_code == 400
    assert "Este operador já acompanha o atendimento." in text(response)
    assert claimed_ticket.watchers.count() == 1


def test_unwatch_someone_not_watching_is_400(as_user, agent, teammate, claimed_ticket):
    response = as_user(agent).post(tool("unwatch", claimed_ticket), {"user": teammate.pk}, headers=HTMX)
    assert response.status_code == 400
    assert "Este operador não acompanha o atendimento." in text(response)


def test_watcher_cannot_delete_someone_elses_attachment_403(as_user, agent, teammate, claimed_ticket):
    attachment = services.attachment_add(actor=agent, ticket=claimed_ticket,
                                         uploaded=SimpleUploadedFile("a.txt", b"x", content_type="text/plain"))
    services.ticket_watcher_add(actor=agent, ticket=claimed_ticket, user=teammate)
    response = as_user(teammate).post(reverse("tickets:attachment_delete", args=[attachment.pk]), headers=HTMX)
    assert response.status_code == 403
    assert "Só quem incluiu o anexo ou um supervisor pode excluí-lo." in text(response)
    assert Attachment.objects.filter(pk=attachment.pk).exists()


# --- workflow ----------------------------------------------------------------------------------------


def test_subprocess_finish_advances_to_next(as_user, agent, claimed_ticket, subprocesses):
    response = as_user(agent).post(tool("subprocess_finish", claimed_ticket), headers=HTMX)
    assert response.status_code == 200
    claimed_ticket.refresh_from_db()
    assert claimed_ticket.current_subprocess == subprocesses[1]


def test_subprocess_start_chosen(as_user, agent, claimed_ticket, subprocesses):
    response = as_user(agent).post(tool("subprocess_start", claimed_ticket), {"subprocess": subprocesses[2].pk})
    assert response.status_code == 302
    claimed_ticket.refresh_from_db()
    assert claimed_ticket.current_subprocess == subprocesses[2]


def test_subprocess_start_current_one_is_400(as_user, agent, claimed_ticket, subprocesses):
    response = as_user(agent).post(
        tool("subprocess_start", claimed_ticket), {"subprocess": subprocesses[0].pk}, headers=HTMX
    )
    assert response.status_code == 400
    assert "O atendimento já está neste subprocesso." in text(response)
    assert claimed_ticket.stages.count() == 1


def test_forward_to_another_process(as_user, agent, claimed_ticket, other_process):
    response = as_user(agent).post(tool("forward", claimed_ticket), {"process": other_process.pk, "comment": "Fatura"})
    assert response.status_code == 302
    claimed_ticket.refresh_from_db()
    assert claimed_ticket.process == other_process
    assert claimed_ticket.current_subprocess.name == "Análise financeira"


def test_forward_without_process_is_400(as_user, agent, claimed_ticket, process):
    response = as_user(agent).post(tool("forward", claimed_ticket), {"process": ""}, headers=HTMX)
    assert response.status_code == 400
    assert "Escolha o processo." in text(response)
    claimed_ticket.refresh_from_db()
    assert claimed_ticket.process == process


# --- service orders ------------------------------------------------------------------------------------


def _local(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def test_service_order_create_edit_complete(as_user, agent, claimed_ticket):
    client = as_user(agent)
    when = timezone.now() + timedelta(days=1)
    response = client.post(tool("so_create", claimed_ticket),
                           {"description": "Trocar conector", "scheduled_for": _local(when)})
    assert response.status_code == 302
    order = ServiceOrder.objects.get(ticket=claimed_ticket)
    assert order.status == ServiceOrder.Status.SCHEDULED

    response = client.post(tool("so_edit", claimed_ticket, order.pk),
                           {"description": "Trocar conector e ONU", "clear_schedule": "on"}, headers=HTMX)
    assert response["HX-Redirect"] == detail(claimed_ticket)
    order.refresh_from_db()
    assert order.description == "Trocar conector e ONU"
    assert order.status == ServiceOrder.Status.UNSCHEDULED

    response = client.post(tool("so_complete", claimed_ticket, order.pk), headers=HTMX)
    assert response["HX-Redirect"] == detail(claimed_ticket)
    order.refresh_from_db()
    assert order.status == ServiceOrder.Status.COMPLETED


def test_service_order_due_before_schedule_is_400(as_user, agent, claimed_ticket):
    when = timezone.now() + timedelta(days=2)
    response = as_user(agent).post(
        tool("so_create", claimed_ticket),
        {"description": "Visita", "scheduled_for": _local(when), "due_at": _local(when - timedelta(days=1))},
        headers=HTMX,
    )
    assert response.status_code == 400
    assert "O prazo não pode ser anterior ao agendamento." in text(response)
    assert not ServiceOrder.objects.exists()


def test_service_order_edit_empty_description_is_400(as_user, agent, claimed_ticket):
    order = services.service_order_create(actor=agent, ticket=claimed_ticket, description="Visita")
    response = as_user(agent).post(tool("so_edit", claimed_ticket, order.pk), {"description": ""}, headers=HTMX)
    assert response.status_code == 400
    assert "Descreva o serviço da O.S." in text(response)
    order.refresh_from_db()
    assert order.description == "Visita"


def test_service_order_complete_twice_is_400(as_user, agent, claimed_ticket):
    order = services.service_order_create(actor=agent, ticket=claimed_ticket, description="Visita")
    services.service_order_complete(actor=agent, service_order=order)
    response = as_user(agent).post(tool("so_complete", claimed_ticket, order.pk), headers=HTMX)
    assert response.status_code == 400
    assert f"A O.S. {order.code} já foi concluída." in text(response)


def test_service_order_of_another_ticket_is_404(as_user, agent, claimed_ticket, team, customer, company, process):
    other = services.ticket_open(actor=agent, customer=customer, company=company, team=team, process=process,
                                 origin=Origin.PHONE)
    order = services.service_order_create(actor=agent, ticket=claimed_ticket, description="Visita")
    response = as_user(agent).post(tool("so_complete", other, order.pk))
    assert response.status_code == 404
    order.refresh_from_db()
    assert order.status != ServiceOrder.Status.COMPLETED


# --- finalize and reopen --------------------------------------------------------------------------------


def test_finalize_and_reopen(as_user, agent, claimed_ticket, closing_classification):
    client = as_user(agent)
    response = client.post(tool("finalize", claimed_ticket),
                           {"closing_classification": closing_classification.pk, "comment": "Resolvido."})
    assert response.status_code == 302
    claimed_ticket.refresh_from_db()
    assert claimed_ticket.closed_at is not None and claimed_ticket.closing_classification == closing_classification
    assert tool("reopen", claimed_ticket) in text(client.get(detail(claimed_ticket)))

    response = client.post(tool("reopen", claimed_ticket), {"reason": "Cliente voltou a ficar sem sinal."})
    assert response.status_code == 302
    claimed_ticket.refresh_from_db()
    assert claimed_ticket.closed_at is None


def test_finalize_without_comment_is_400(as_user, agent, claimed_ticket, closing_classification):
    response = as_user(agent).post(
        tool("finalize", claimed_ticket), {"closing_classification": closing_classification.pk, "comment": ""},
        headers=HTMX,
    )
    assert response.status_code == 400
    assert "Escreva o comentário de encerramento." in text(response)
    claimed_ticket.refresh_from_db()
    assert claimed_ticket.closed_at is None


def test_reopen_without_reason_is_400(as_user, agent, claimed_ticket, closing_classification):
    services.ticket_finalize(actor=agent, ticket=claimed_ticket, closing_classification=closing_classification,
                             comment="ok")
    response = as_user(agent).post(tool("reopen", claimed_ticket), {"reason": ""}, headers=HTMX)
    assert response.status_code == 400
    assert "Informe o motivo da reabertura." in text(response)
    claimed_ticket.refresh_from_db()
    assert claimed_ticket.closed_at is not None


# --- new and edit --------------------------------------------------------------------------------------------


def _ticket_form_data(customer, company, team, process, **extra):
    data = {
        "customer": customer.pk, "company": company.pk, "team": team.pk, "process": process.pk,
        "origin": Origin.WHATSAPP, "customer_report": "Internet lenta à noite.", "street": "Rua A", "number": "10",
        "city": "Campinas", "state": "SP", "opening_comment": "Primeiro contato.",
    }
    data.update(extra)
    return data


def test_new_ticket_opens_and_redirects_to_detail(as_user, agent, team, customer, company, process):
    matrix = f.CategoryMatrixFactory()
    response = as_user(agent).post(
        reverse("tickets:new"), _ticket_form_data(customer, company, team, process, category_matrix=matrix.pk)
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == detail(ticket)
    assert ticket.category_matrix == matrix and ticket.street == "Rua A" and ticket.opened_by == agent
    assert Comment.objects.filter(ticket=ticket, body="Primeiro contato.").exists()


def test_new_ticket_without_customer_is_400_in_portuguese(as_user, agent, team, customer, company, process):
    data = _ticket_form_data(customer, company, team, process)
    data["customer"] = ""
    response = as_user(agent).post(reverse("tickets:new"), data)
    assert response.status_code == 400
    assert "Escolha o cliente" in text(response)
    assert not Ticket.objects.exists()


def test_new_ticket_for_a_team_not_mine_is_400(as_user, agent, team, other_team, customer, company, process):
    data = _ticket_form_data(customer, company, other_team, process)
    response = as_user(agent).post(reverse("tickets:new"), data)
    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_new_ticket_page_is_403_without_permission(as_user, team):
    nobody = f.UserFactory(username="sem_papel")
    response = as_user(nobody).get(reverse("tickets:new"))
    assert response.status_code == 403


def test_new_ticket_prefills_customer_from_query(as_user, agent, team, customer):
    html = text(as_user(agent).get(reverse("tickets:new"), {"customer": customer.pk}))
    assert customer.name_document in html
    assert f'value="{customer.pk}"' in html


def test_edit_changes_report_and_address(as_user, agent, claimed_ticket, customer, company):
    data = {
        "customer": customer.pk, "company": company.pk, "origin": Origin.SITE,
        "customer_report": "Relato corrigido.", "city": "Valinhos", "state": "SP",
    }
    response = as_user(agent).post(tool("edit", claimed_ticket), data)
    assert response.status_code == 302
    claimed_ticket.refresh_from_db()
    assert claimed_ticket.customer_report == "Relato corrigido." and claimed_ticket.city == "Valinhos"
    assert TicketEvent.objects.filter(ticket=claimed_ticket, kind=EventKind.REPORT_CHANGED).exists()


def test_edit_of_finalized_ticket_is_400_with_service_message(as_user, agent, claimed_ticket, customer, company,
                                                              closing_classification):
    services.ticket_finalize(actor=agent, ticket=claimed_ticket, closing_classification=closing_classification,
                             comment="ok")
    data = {"customer": customer.pk, "company": company.pk, "origin": Origin.SITE, "customer_report": "Novo."}
    response = as_user(agent).post(tool("edit", claimed_ticket), data)
    assert response.status_code == 400
    assert f"O atendimento {claimed_ticket.code} está finalizado e não pode ser alterado." in text(response)
    claimed_ticket.refresh_from_db()
    assert claimed_ticket.customer_report == "Sem internet desde ontem à noite."


# --- lookups -------------------------------------------------------------------------------------------------


def test_customer_search_by_name_and_by_formatted_document(as_user, agent, customer):
    client = as_user(agent)
    by_name = text(client.get(reverse("tickets:customer_search"), {"q": "olive"}))
    assert "Maria Oliveira" in by_name and 'data-customer-pick' in by_name
    by_doc = text(client.get(reverse("tickets:customer_search"), {"q": "529.982"}))
    assert "Maria Oliveira" in by_doc
    none = text(client.get(reverse("tickets:customer_search"), {"q": "xyzzy"}))
    assert "Nenhum cliente encontrado" in none


def test_customer_create_htmx_selects_the_new_customer(as_user, agent, team):
    response = as_user(agent).post(
        reverse("tickets:customer_create"),
        {"nc-name": "Pedro Alves", "nc-document": "111.444.777-35", "nc-city": "Jundiaí", "nc-state": "SP"},
        headers=HTMX,
    )
    assert response.status_code == 200
    created = Customer.objects.get(document="11144477735")
    assert created.name == "Pedro Alves"
    assert "data-customer-created" in text(response) and f'data-id="{created.pk}"' in text(response)


def test_customer_create_without_js_returns_to_new_form(as_user, agent, team):
    response = as_user(agent).post(reverse("tickets:customer_create"),
                                   {"nc-name": "Pedro Alves", "nc-document": "11144477735"})
    created = Customer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('tickets:new')}?customer={created.pk}"


def test_customer_create_with_bad_cpf_is_400(as_user, agent, team):
    response = as_user(agent).post(reverse("tickets:customer_create"),
                                   {"nc-name": "Pedro", "nc-document": "111.444.777-36"}, headers=HTMX)
    assert response.status_code == 400
    assert "CPF inválido: confira os dígitos verificadores." in text(response)
    assert not Customer.objects.exists()


def test_category_cascade(as_user, agent):
    root = f.CategoryFactory(name="Manutenção")
    child = f.CategoryFactory(name="Fibra", parent=root)
    f.CategoryFactory(name="Rádio", parent=root)
    matrix = f.CategoryMatrixFactory(name="Manutenção de fibra", category=child)
    client = as_user(agent)

    assert "Manutenção" in text(client.get(reverse("tickets:new")))

    html = text(client.get(reverse("tickets:category_children"), {"parent": root.pk, "level": 1}))
    assert "Fibra" in html and "Rádio" in html
    assert 'hx-target="#category-level-3"' in html
    assert 'id="category-level-3" hx-swap-oob="true"' in html  # deeper levels are cleared

    html = text(client.get(reverse("tickets:category_children"), {"parent": child.pk, "level": 2}))
    assert "Manutenção de fibra" in html and f'value="{matrix.pk}"' in html
    assert 'name="parent"' not in html  # a leaf: no further select

    html = text(client.get(reverse("tickets:category_children"), {"parent": "", "level": 1}))
    assert 'name="parent"' not in html and "Escolha uma categoria acima" in html

    assert client.get(reverse("tickets:category_children"), {"parent": "999999"}).status_code == 404
