"""Filtro de e-mail: accepting and deleting e-mails held for a supervisor, the screen, the
side menu's count, permissions and query counts."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from omnichannel import email_filter
from omnichannel.models import (
    Channel,
    ChannelAccount,
    Conversation,
    ConversationEvent,
    ConversationEventKind,
    ConversationStatus,
    MessageKind,
)
from omnichannel.providers import email as provider
from tests import factories as f
from tests.omnichannel.conftest import go_online, make_queue
from tests.providers.mailservers import raw_email

LIST = reverse("omnichannel:email_filter")
ACCEPT = reverse("omnichannel:email_filter_accept")
DELETE = reverse("omnichannel:email_filter_delete")
COUNT = reverse("omnichannel:email_filter_count")


@pytest.fixture
def email_queue(team, company, process):
    return make_queue(team, company, process, name="Suporte - E-mail", channel=Channel.EMAIL, email_filter=True)


@pytest.fixture
def billing_queue(team, company, process):
    return make_queue(team, company, process, name="Financeiro - E-mail", channel=Channel.EMAIL)


@pytest.fixture
def foreign_queue(other_team, company, process):
    return make_queue(other_team, company, process, name="Outra equipe - E-mail", channel=Channel.EMAIL, email_filter=True)


def account_for(queue, address):
    return ChannelAccount.objects.create(name=queue.name, channel=Channel.EMAIL, queue=queue, email_address=address)


@pytest.fixture
def account(email_queue):
    return account_for(email_queue, "suporte@provedor.test")


_n = iter(range(1, 10_000))


def arrive(account, **kwargs) -> Conversation:
    n = next(_n)
    kwargs.setdefault("sender", f"Cliente {n} <cliente{n}@example.com>")
    kwargs.setdefault("subject", f"Assunto {n}")
    message = provider.intake_email(account, provider.parse_bytes(raw_email(msgid=f"<m{n}@example.com>", **kwargs)))
    return message.conversation


def test_new_emails_wait_in_filter_and_are_counted(account, supervisor, admin_user, agent, outsider):
    arrive(account)
    arrive(account)
    assert email_filter.pending_count(supervisor) == 2
    assert email_filter.pending_count(admin_user) == 2
    assert email_filter.pending_count(agent) == 0  # not a supervisor
    assert email_filter.pending_count(outsider) == 0


def test_accept_one_into_its_own_queue_sends_the_protocol(account, supervisor, agent, email_queue,
                                                          django_capture_on_commit_callbacks):
    go_online(agent)
    conversation = arrive(account)
    other = arrive(account)
    with django_capture_on_commit_callbacks(execute=True):
        email_filter.filter_accept(actor=supervisor, conversation_ids=[conversation.pk])
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.IN_PROGRESS and conversation.agent_id == agent.pk
    assert conversation.queue_id == email_queue.pk
    kinds = list(conversation.messages.values_list("kind", flat=True))
    assert kinds == [MessageKind.CUSTOMER, MessageKind.SYSTEM]
    assert conversation.protocol in conversation.messages.get(kind=MessageKind.SYSTEM).body
    event = ConversationEvent.objects.get(conversation=conversation, kind=ConversationEventKind.FILTER_ACCEPTED)
    assert event.actor_id == supervisor.pk and event.data["queue_id"] == email_queue.pk
    other.refresh_from_db()
    assert other.status == ConversationStatus.IN_FILTER
    assert email_filter.pending_count(supervisor) == 1


def test_accept_many_into_another_queue(account, supervisor, billing_queue):
    ids = [arrive(account).pk for _ in range(3)]
    done = email_filter.filter_accept(actor=supervisor, conversation_ids=[str(i) for i in ids], queue=billing_queue)
    assert sorted(c.pk for c in done) == ids
    rows = Conversation.objects.filter(pk__in=ids)
    assert {(c.status, c.queue_id) for c in rows} == {(ConversationStatus.QUEUED, billing_queue.pk)}


def test_delete_closes_as_cancelled_and_keeps_the_email(account, supervisor):
    first, second = arrive(account), arrive(account)
    email_filter.filter_delete(actor=supervisor, conversation_ids=[first.pk, second.pk])
    for conversation in (first, second):
        conversation.refresh_from_db()
        assert conversation.status == ConversationStatus.CANCELLED and conversation.ended_by_id == supervisor.pk
        assert conversation.messages.filter(kind=MessageKind.CUSTOMER).count() == 1
        assert not conversation.messages.filter(kind=MessageKind.SYSTEM).exists()  # nothing sent
    assert email_filter.pending_count(supervisor) == 0


def test_agent_and_other_teams_supervisor_may_not_accept(account, agent, foreign_queue, company, process):
    conversation = arrive(account)
    other_supervisor = f.SupervisorFactory(username="sergio")
    foreign_queue.team.supervisors.add(other_supervisor)
    for actor in (agent, other_supervisor):
        with pytest.raises(PermissionDenied):
            email_filter.filter_accept(actor=actor, conversation_ids=[conversation.pk])
        with pytest.raises(PermissionDenied):
            email_filter.filter_delete(actor=actor, conversation_ids=[conversation.pk])
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.IN_FILTER


def test_batch_is_all_or_nothing(account, supervisor, foreign_queue):
    mine = arrive(account)
    foreign = arrive(account_for(foreign_queue, "outra@provedor.test"))
    with pytest.raises(PermissionDenied):
        email_filter.filter_accept(actor=supervisor, conversation_ids=[mine.pk, foreign.pk])
    mine.refresh_from_db()
    assert mine.status == ConversationStatus.IN_FILTER


def test_already_handled_or_bad_input_is_refused(account, supervisor, billing_queue, foreign_queue):
    conversation = arrive(account)
    email_filter.filter_accept(actor=supervisor, conversation_ids=[conversation.pk])
    with pytest.raises(ValidationError, match="já foi tratado"):
        email_filter.filter_delete(actor=supervisor, conversation_ids=[conversation.pk])
    with pytest.raises(ValidationError, match="Selecione ao menos"):
        email_filter.filter_accept(actor=supervisor, conversation_ids=[])
    with pytest.raises(ValidationError, match="Seleção inválida"):
        email_filter.filter_accept(actor=supervisor, conversation_ids=["abc"])
    with pytest.raises(ValidationError, match="não existe mais"):
        email_filter.filter_accept(actor=supervisor, conversation_ids=[999_999])
    pending = arrive(account)
    with pytest.raises(PermissionDenied):  # a queue of a team they do not supervise
        email_filter.filter_accept(actor=supervisor, conversation_ids=[pending.pk], queue=foreign_queue)
    billing_queue.active = False
    billing_queue.save()
    with pytest.raises(ValidationError, match="inativa"):
        email_filter.filter_accept(actor=supervisor, conversation_ids=[pending.pk], queue=billing_queue)


# --- the screen ---------------------------------------------------------------------------------


def test_screen_lists_pending_emails_escaped_with_count(client, account, supervisor, foreign_queue):
    arrive(account, subject="<script>alert('x')</script> Sem sinal", attachments=[("a.pdf", b"%PDF", "application/pdf")])
    arrive(account)
    arrive(account_for(foreign_queue, "outra@provedor.test"))  # another team's: not shown
    client.force_login(supervisor)
    response = client.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "&lt;script&gt;alert" in html and "<script>alert" not in html
    assert 'data-total="2"' in html
    assert html.count('name="ids"') == 2
    assert 'id="nav-email-filter"' in html and 'id="email-filter-count"' in html  # the menu item


def test_side_menu_badge_counts_pending_emails(client, account, supervisor, foreign_queue):
    arrive(account)
    arrive(account)
    arrive(account_for(foreign_queue, "outra@provedor.test"))  # another team's: not counted
    client.force_login(supervisor)
    home = client.get(reverse("home")).content.decode()
    # Rendered with the page (a request of its own at every load raced the page's requests).
    assert 'id="email-filter-count"' in home and ">2</span>" in home
    response = client.get(COUNT)
    html = response.content.decode()
    assert response.status_code == 200 and ">2</span>" in html and "hidden" not in html
    for conversation in Conversation.objects.filter(queue=account.queue):
        email_filter.filter_delete(actor=supervisor, conversation_ids=[conversation.pk])
    assert " hidden>0</span>" in client.get(COUNT).content.decode()


def test_screen_filters_by_queue_and_refreshes_with_htmx(client, account, supervisor, billing_queue):
    arrive(account)
    billing = account_for(billing_queue, "financeiro@provedor.test")
    billing_queue.email_filter = True
    billing_queue.save()
    arrive(billing)
    client.force_login(supervisor)
    response = client.get(LIST, {"fila": billing_queue.pk}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html  # just the panel
    assert 'data-total="1"' in html
    assert client.get(LIST, {"fila": "999999"}).status_code == 400


def test_quantity_limits_the_rows_shown_oldest_first(client, account, supervisor):
    conversations = [arrive(account) for _ in range(12)]
    client.force_login(supervisor)
    html = client.get(LIST, {"qtd": "10"}).content.decode()
    assert html.count('name="ids"') == 10 and 'data-total="12"' in html
    assert "mostrando os 10 mais antigos" in html
    assert f'id="email-{conversations[9].pk}"' in html and f'id="email-{conversations[10].pk}"' not in html
    assert client.get(LIST, {"qtd": "7"}).content.decode().count('name="ids"') == 12  # unknown: the default, 50


def test_screen_accept_and_delete_through_htmx(client, account, supervisor, billing_queue):
    first, second, third = arrive(account), arrive(account), arrive(account)
    client.force_login(supervisor)
    response = client.post(ACCEPT, {"ids": [first.pk, second.pk], "destino": billing_queue.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "2 e-mails aceitos na fila." in response.content.decode()
    assert set(Conversation.objects.filter(queue=billing_queue).values_list("pk", flat=True)) == {first.pk, second.pk}
    response = client.post(DELETE, {"ids": [third.pk]}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "1 e-mail excluído." in response.content.decode()
    third.refresh_from_db()
    assert third.status == ConversationStatus.CANCELLED
    # Nothing selected: a clear message, 400.
    response = client.post(ACCEPT, {}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and "Selecione ao menos um e-mail." in response.content.decode()


def test_plain_post_redirects_with_message(client, account, supervisor):
    conversation = arrive(account)
    client.force_login(supervisor)
    response = client.post(ACCEPT, {"ids": [conversation.pk]}, follow=True)
    assert response.redirect_chain[-1][0] == LIST + "?qtd=50"
    assert "1 e-mail aceito na fila." in response.content.decode()


def test_detail_shows_the_email_and_its_attachments(client, account, supervisor):
    conversation = arrive(account, text="Linha 1\n<b>não é negrito</b>",
                          attachments=[("boleto.pdf", b"%PDF-1.4 boleto", "application/pdf")])
    client.force_login(supervisor)
    response = client.get(reverse("omnichannel:email_filter_detail", args=[conversation.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "&lt;b&gt;não é negrito&lt;/b&gt;" in html
    attachment = conversation.messages.get().attachments.get()
    url = reverse("omnichannel:message_file", args=[attachment.pk])
    assert url in html
    download = client.get(url)
    assert download.status_code == 200 and b"".join(download.streaming_content if download.streaming else [download.content]) == b"%PDF-1.4 boleto"


def test_agent_and_outsider_are_kept_out(client, account, agent, outsider, foreign_queue):
    conversation = arrive(account)
    for user in (agent, outsider):
        client.force_login(user)
        assert client.get(LIST).status_code == 403
        assert client.post(ACCEPT, {"ids": [conversation.pk]}).status_code == 403
        assert client.post(DELETE, {"ids": [conversation.pk]}).status_code == 403
        assert client.get(reverse("omnichannel:email_filter_detail", args=[conversation.pk])).status_code == 403
        assert 'id="nav-email-filter"' not in client.get(reverse("home")).content.decode()
        assert client.get(COUNT).status_code == 204
    other_supervisor = f.SupervisorFactory(username="sergio")
    foreign_queue.team.supervisors.add(other_supervisor)
    client.force_login(other_supervisor)
    assert client.get(reverse("omnichannel:email_filter_detail", args=[conversation.pk])).status_code == 404
    assert client.post(ACCEPT, {"ids": [conversation.pk]}).status_code == 302  # refused, with a message
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.IN_FILTER


def test_anonymous_is_sent_to_login(client):
    response = client.get(LIST)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_list_query_count_does_not_grow_with_rows(client, account, supervisor, django_assert_max_num_queries):
    client.force_login(supervisor)
    for _ in range(2):
        arrive(account, attachments=[("a.pdf", b"%PDF", "application/pdf")])
    with django_assert_max_num_queries(12) as few:
        assert client.get(LIST).status_code == 200
    for _ in range(8):
        arrive(account, attachments=[("a.pdf", b"%PDF", "application/pdf")])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(LIST)
    assert 'data-total="10"' in response.content.decode()


def test_pending_count_is_one_query(account, supervisor, django_assert_num_queries):
    for _ in range(3):
        arrive(account)
    email_filter.pending_count(supervisor)  # warms the user's team cache
    with django_assert_num_queries(1):
        assert email_filter.pending_count(supervisor) == 3
