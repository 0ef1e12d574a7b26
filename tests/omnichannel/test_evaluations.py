"""Avaliação SAC Plus: request on conclusion/finalization, token rules, the public page,
"Reenviar avaliação para o SAC Plus" and "Média de avaliação omnichannel"."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from omnichannel import evaluations, services
from omnichannel.evaluation_views import RATE_LIMITS
from omnichannel.models import (
    AgentPresence,
    AgentState,
    Channel,
    Conversation,
    ConversationEvent,
    ConversationEventKind,
    ConversationStatus,
    Evaluation,
    Message,
    MessageKind,
)
from tests import factories as f
from tickets import services as ticket_services
from tickets.models import EventKind, TicketEvent

from .conftest import go_online, start

pytestmark = pytest.mark.django_db

SITE = "https://sac.example.com.br"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.SACPLUS_TOKEN_DAYS = 7
    settings.SACPLUS_RESEND_INTERVAL_MINUTES = 60
    cache.clear()
    yield
    cache.clear()


def concluded(agent, queue, contact_reason, capture, *, document=""):
    """A live-chat conversation handled by ``agent`` and concluded, on-commit callbacks run."""
    if not AgentPresence.objects.filter(agent=agent, state=AgentState.ONLINE).exists():
        go_online(agent)
    conversation = start(queue, document=document)
    services.conversation_reply(actor=agent, conversation=conversation, body="Resolvido?")
    with capture(execute=True):
        services.conversation_finish(actor=agent, conversation=conversation, contact_reason=contact_reason)
    conversation.refresh_from_db()
    return conversation


def token_of(evaluation):
    return evaluations.evaluation_token(evaluation)


def linked(text):
    """The evaluation the link in ``text`` opens (the link is absolute, on ``SITE_URL``)."""
    found = re.search(rf"{re.escape(SITE)}/avaliacao/([^/\s]+)/", text)
    assert found, text
    return evaluations.evaluation_for_token(found.group(1))


@pytest.fixture
def evaluation(agent, queue, contact_reason, customer, django_capture_on_commit_callbacks):
    """The evaluation of a concluded live-chat conversation of ``customer`` (so with a ticket)."""
    conversation = concluded(agent, queue, contact_reason, django_capture_on_commit_callbacks, document=customer.document)
    return Evaluation.objects.get(conversation=conversation)


@pytest.fixture
def finalized_ticket(claimed_ticket, agent, closing_classification, django_capture_on_commit_callbacks):
    """``claimed_ticket`` (no conversation) finalized by ``agent``; on-commit callbacks run."""
    with django_capture_on_commit_callbacks(execute=True):
        ticket_services.ticket_finalize(
            actor=agent, ticket=claimed_ticket, closing_classification=closing_classification, comment="Resolvido."
        )
    claimed_ticket.refresh_from_db()
    return claimed_ticket


# --- asking -----------------------------------------------------------------------------------


def test_concluding_a_conversation_posts_the_evaluation_link_in_the_conversation(evaluation):
    message = Message.objects.filter(conversation=evaluation.conversation, kind=MessageKind.SYSTEM).latest("id")
    assert linked(message.body).pk == evaluation.pk
    assert evaluation.send_count == 1 and evaluation.last_sent_at is not None
    assert evaluation.channel == Channel.LIVE_CHAT
    assert evaluation.agent_id == evaluation.conversation.agent_id
    assert evaluation.ticket_id == evaluation.conversation.ticket_id
    assert ConversationEvent.objects.filter(
        conversation=evaluation.conversation, kind=ConversationEventKind.EVALUATION_REQUESTED
    ).count() == 1


def test_request_is_idempotent_and_a_second_send_sends_nothing(evaluation):
    again = evaluations.evaluation_request(conversation=evaluation.conversation)
    assert again.pk == evaluation.pk
    assert evaluations.evaluation_send(evaluation.pk) is False
    assert Evaluation.objects.count() == 1
    assert Evaluation.objects.get().send_count == 1
    # The ticket's finalization later reuses the conversation's evaluation.
    evaluation.ticket.closed_at = timezone.now()
    evaluation.ticket.save(update_fields=["closed_at"])
    assert evaluations.evaluation_request(ticket=evaluation.ticket).pk == evaluation.pk
    assert Evaluation.objects.count() == 1


def test_a_cancelled_conversation_is_not_evaluated(agent, queue, django_capture_on_commit_callbacks):
    go_online(agent)
    conversation = start(queue)
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_cancel(actor=agent, conversation=conversation, notes="Engano.")
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.CANCELLED
    assert evaluations.evaluation_request(conversation=conversation) is None
    assert not Evaluation.objects.exists()


def test_finalizing_a_ticket_without_conversation_emails_the_customer(finalized_ticket, mailoutbox):
    evaluation = Evaluation.objects.get(ticket=finalized_ticket)
    assert evaluation.conversation is None and evaluation.channel == Channel.EMAIL
    assert evaluation.agent_id == finalized_ticket.closed_by_id
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [finalized_ticket.customer.email]
    assert mail.subject == "Avalie o seu atendimento"
    assert linked(mail.body).pk == evaluation.pk
    assert evaluation.send_count == 1


def test_a_customer_without_email_is_recorded_as_not_sent(
    claimed_ticket, agent, closing_classification, django_capture_on_commit_callbacks, mailoutbox
):
    claimed_ticket.customer.email = ""
    claimed_ticket.customer.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        ticket_services.ticket_finalize(
            actor=agent, ticket=claimed_ticket, closing_classification=closing_classification, comment="Ok."
        )
    evaluation = Evaluation.objects.get(ticket=claimed_ticket)
    assert evaluation.send_count == 0 and evaluation.last_sent_at is None
    assert mailoutbox == []
    note = TicketEvent.objects.get(ticket=claimed_ticket, kind=EventKind.EVALUATION_NOT_SENT)
    assert note.data == {"reason": "o cliente não tem e-mail cadastrado.", "evaluation_id": evaluation.pk}
    assert note.text.startswith("Avaliação SAC PLUS não enviada em ")
    assert note.text.endswith(": o cliente não tem e-mail cadastrado.")


# --- token rules ------------------------------------------------------------------------------


def test_a_good_token_stores_the_answer_and_records_the_ticket_event(evaluation):
    answered = evaluations.evaluation_answer(token_of(evaluation), "4", "  Muito bom, obrigada!  ")
    evaluation.refresh_from_db()
    assert (evaluation.score, evaluation.comment) == (4, "Muito bom, obrigada!")
    assert evaluation.answered_at is not None and answered.pk == evaluation.pk
    event = TicketEvent.objects.get(ticket=evaluation.ticket, kind=EventKind.EVALUATION_COMMENT)
    assert event.data == {"score": 4, "comment": "Muito bom, obrigada!", "evaluation_id": evaluation.pk}
    assert event.actor is None
    assert event.text.startswith("Comentário da avaliação via SAC PLUS - ")
    assert ConversationEvent.objects.filter(
        conversation=evaluation.conversation, kind=ConversationEventKind.EVALUATION_ANSWERED
    ).count() == 1


def _code(token, score=5, comment=""):
    with pytest.raises(ValidationError) as exc:
        evaluations.evaluation_answer(token, score, comment)
    return exc.value.code


def test_a_reused_token_is_refused_and_keeps_the_first_answer(evaluation):
    token = token_of(evaluation)
    evaluations.evaluation_answer(token, 5, "Ótimo")
    assert _code(token, 1, "Mudei de ideia") == evaluations.USED
    evaluation.refresh_from_db()
    assert (evaluation.score, evaluation.comment) == (5, "Ótimo")
    assert TicketEvent.objects.filter(kind=EventKind.EVALUATION_COMMENT).count() == 1


def test_a_token_older_than_the_validity_is_expired(evaluation):
    token = token_of(evaluation)
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1), tick=False):
        assert _code(token) == evaluations.EXPIRED
    evaluation.refresh_from_db()
    assert evaluation.answered_at is None


def test_a_fresh_signature_on_an_expired_evaluation_is_expired(evaluation):
    Evaluation.objects.filter(pk=evaluation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _code(token_of(evaluation)) == evaluations.EXPIRED


def test_a_tampered_token_is_refused(evaluation):
    token = token_of(evaluation)
    nonce, stamp, signature = token.split(":")
    forged = [
        f"{nonce}x:{stamp}:{signature}",  # another nonce under the old signature
        f"{nonce}:{stamp}:{signature[:-2]}aa" if not signature.endswith("aa") else f"{nonce}:{stamp}:{signature[:-2]}bb",
        signing.TimestampSigner(salt="other").sign(nonce),  # signed for another purpose
        "nada-disso",
        "",
    ]
    for bad in forged:
        assert _code(bad) == evaluations.TAMPERED, bad
    assert Evaluation.objects.get().answered_at is None


def test_a_well_signed_unknown_nonce_is_unknown(evaluation):
    assert _code(signing.TimestampSigner(salt="sacplus").sign("nao-existe")) == evaluations.UNKNOWN


@pytest.mark.parametrize("score", [0, 6, "-1", "abc", "", None, "4.5"])
def test_scores_outside_1_to_5_are_refused_and_nothing_changes(evaluation, score):
    with pytest.raises(ValidationError) as exc:
        evaluations.evaluation_answer(token_of(evaluation), score, "x")
    assert exc.value.message_dict == {"score": ["Escolha uma nota de 1 a 5."]}
    evaluation.refresh_from_db()
    assert evaluation.answered_at is None and evaluation.score is None
    assert not TicketEvent.objects.filter(kind=EventKind.EVALUATION_COMMENT).exists()


@pytest.mark.parametrize("score", [1, 5])
def test_the_bounds_1_and_5_are_accepted(evaluation, score):
    assert evaluations.evaluation_answer(token_of(evaluation), score, "").score == score


# --- the public page --------------------------------------------------------------------------


def test_the_page_needs_no_login_and_shows_no_staff_data(client, evaluation, agent):
    url = reverse("evaluation:answer", args=[token_of(evaluation)])
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="score"' in html and 'name="comment"' in html
    for secret in (agent.get_full_name(), agent.username, evaluation.conversation.protocol, evaluation.ticket.protocol):
        assert secret not in html
    assert response["Cache-Control"].startswith("max-age=0")


def test_answering_on_the_page_thanks_and_escapes_the_comment(client, evaluation):
    url = reverse("evaluation:answer", args=[token_of(evaluation)])
    comment = "Atendente atenciosa, solução rápida <script>alert('x')</script>"
    response = client.post(url, {"score": "4", "comment": comment})
    assert response.status_code == 200
    assert "Obrigado pela sua avaliação!" in response.content.decode()
    evaluation.refresh_from_db()
    assert (evaluation.score, evaluation.comment) == (4, comment)
    again = client.get(url)
    assert again.status_code == 409
    assert "Esta avaliação já foi respondida." in again.content.decode()


def test_a_score_error_redisplays_the_form_escaped_with_400(client, evaluation):
    url = reverse("evaluation:answer", args=[token_of(evaluation)])
    response = client.post(url, {"score": "9", "comment": "<b>oi</b>"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Escolha uma nota de 1 a 5." in html
    assert "&lt;b&gt;oi&lt;/b&gt;" in html and "<b>oi</b>" not in html
    evaluation.refresh_from_db()
    assert evaluation.answered_at is None


def test_bad_links_get_their_own_page_and_status(client, evaluation):
    good = token_of(evaluation)
    nonce, stamp, signature = good.split(":")
    cases = {
        f"{nonce}:{stamp}:{'A' * len(signature)}": (400, "Este link de avaliação é inválido."),
        signing.TimestampSigner(salt="sacplus").sign("desconhecido"): (404, "Este link de avaliação não existe."),
    }
    for token, (status, text) in cases.items():
        response = client.get(reverse("evaluation:answer", args=[token]))
        assert response.status_code == status
        assert text in response.content.decode()
    Evaluation.objects.filter(pk=evaluation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = client.post(reverse("evaluation:answer", args=[good]), {"score": "5"})
    assert response.status_code == 410
    assert "Este link de avaliação expirou." in response.content.decode()
    evaluation.refresh_from_db()
    assert evaluation.answered_at is None


def test_guessing_links_is_rate_limited_per_ip(client, evaluation):
    limit = RATE_LIMITS["bad"][0]
    signer = signing.TimestampSigner(salt="sacplus")
    for n in range(limit):
        assert client.get(reverse("evaluation:answer", args=[signer.sign(f"chute{n}")])).status_code == 404
    blocked = client.get(reverse("evaluation:answer", args=[token_of(evaluation)]))
    assert blocked.status_code == 429
    assert blocked["Retry-After"]
    assert "Muitas tentativas" in blocked.content.decode()
    assert client.post(reverse("evaluation:answer", args=[token_of(evaluation)]), {"score": "5"}).status_code == 429
    evaluation.refresh_from_db()
    assert evaluation.answered_at is None
    # Another address is not affected.
    other = client.get(reverse("evaluation:answer", args=[token_of(evaluation)]), REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 200


def test_the_ticket_timeline_shows_score_and_comment_escaped(client, evaluation, agent):
    evaluations.evaluation_answer(token_of(evaluation), 3, "Demorou <i>um pouco</i>")
    client.force_login(agent)
    html = client.get(reverse("tickets:detail", args=[evaluation.ticket_id])).content.decode()
    assert "Comentário da avaliação via SAC PLUS - " in html
    assert "Nota 3 de 5 · Demorou &lt;i&gt;um pouco&lt;/i&gt;" in html


# --- Reenviar avaliação para o SAC Plus ------------------------------------------------------------


def test_resend_needs_the_tool_permission_and_the_ticket(finalized_ticket, agent, outsider):
    # Agents lack "Ferramenta: Reenviar avaliação para o SAC Plus" (supervisors have it).
    with pytest.raises(PermissionDenied) as exc:
        evaluations.evaluation_resend(actor=agent, ticket=finalized_ticket)
    assert str(exc.value) == "Você não tem permissão para reenviar avaliações."
    f.add_role(outsider, "Supervisor")  # the permission, but not the team
    with pytest.raises(PermissionDenied):
        evaluations.evaluation_resend(actor=outsider, ticket=finalized_ticket)
    assert Evaluation.objects.get().send_count == 1


def test_resend_at_most_once_per_interval(finalized_ticket, supervisor, mailoutbox):
    with pytest.raises(ValidationError) as exc:
        evaluations.evaluation_resend(actor=supervisor, ticket=finalized_ticket)
    assert exc.value.messages[0].startswith("A avaliação deste atendimento foi enviada às ")
    assert len(mailoutbox) == 1
    with time_machine.travel(timezone.now() + timedelta(minutes=61), tick=False):
        evaluation = evaluations.evaluation_resend(actor=supervisor, ticket=finalized_ticket)
        assert evaluation.send_count == 2
        assert len(mailoutbox) == 2
        with pytest.raises(ValidationError):
            evaluations.evaluation_resend(actor=supervisor, ticket=finalized_ticket)
    assert Evaluation.objects.get().send_count == 2


def test_resend_of_an_answered_or_open_ticket_is_refused(finalized_ticket, supervisor):
    evaluation = Evaluation.objects.get(ticket=finalized_ticket)
    evaluations.evaluation_answer(token_of(evaluation), 5, "")
    with time_machine.travel(timezone.now() + timedelta(days=1), tick=False), pytest.raises(ValidationError) as exc:
        evaluations.evaluation_resend(actor=supervisor, ticket=finalized_ticket)
    assert exc.value.messages == ["O cliente já respondeu a avaliação deste atendimento."]
    other = f.TicketFactory(team=finalized_ticket.team, customer=finalized_ticket.customer)
    with pytest.raises(ValidationError) as exc:
        evaluations.evaluation_resend(actor=supervisor, ticket=other)
    assert exc.value.messages == ["Só é possível reenviar a avaliação de um atendimento finalizado."]


def test_resend_tool_on_the_finalized_panel(client, finalized_ticket, supervisor, agent):
    client.force_login(supervisor)
    page = client.get(reverse("dashboards:view", args=["finalized", "today"])).content.decode()
    assert "Reenviar avaliação para o SAC Plus" in page
    url = reverse("evaluation:resend")
    refused = client.post(url, {"ticket": finalized_ticket.pk}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    assert "A avaliação deste atendimento foi enviada às" in refused.content.decode()
    with time_machine.travel(timezone.now() + timedelta(minutes=61), tick=False):
        ok = client.post(url, {"ticket": finalized_ticket.pk}, HTTP_HX_REQUEST="true")
    assert ok.status_code == 200
    assert (
        f"Avaliação reenviada com sucesso para o cliente do atendimento {finalized_ticket.code}."
        in ok.content.decode()
    )
    assert client.post(url, {"ticket": "abc"}, HTTP_HX_REQUEST="true").status_code == 400
    client.force_login(agent)  # no tool permission
    page = client.get(reverse("dashboards:view", args=["finalized", "today"])).content.decode()
    assert "Reenviar avaliação para o SAC Plus" not in page
    assert client.post(url, {"ticket": finalized_ticket.pk}, HTTP_HX_REQUEST="true").status_code == 403


def test_resend_of_an_invisible_ticket_looks_like_a_missing_one(client, finalized_ticket, outsider):
    f.add_role(outsider, "Supervisor")
    client.force_login(outsider)
    response = client.post(reverse("evaluation:resend"), {"ticket": finalized_ticket.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "Selecione um atendimento da grade." in response.content.decode()
    assert Evaluation.objects.get().send_count == 1


# --- Média de avaliação omnichannel ---------------------------------------------------------------


def test_average_is_the_mean_score_of_the_agents_conversations_in_the_period(
    agent, teammate, queue, contact_reason, django_capture_on_commit_callbacks, django_assert_num_queries
):
    scores = []
    for score in (4, 5, 2):
        conversation = concluded(agent, queue, contact_reason, django_capture_on_commit_callbacks)
        scores.append((conversation, score))
    other = concluded(agent, queue, contact_reason, django_capture_on_commit_callbacks)
    Evaluation.objects.filter(conversation=other).update(agent=teammate)  # handled by the teammate
    unanswered = concluded(agent, queue, contact_reason, django_capture_on_commit_callbacks)
    for conversation, score in [*scores, (other, 1)]:
        evaluations.evaluation_answer(token_of(conversation.evaluation), score, "")
    # The third conversation ended before the period.
    Conversation.objects.filter(pk=scores[2][0].pk).update(ended_at=timezone.now() - timedelta(days=3))
    start_, end = timezone.now() - timedelta(days=1), timezone.now() + timedelta(minutes=1)
    with django_assert_num_queries(1):
        result = evaluations.omnichannel_average(agent, start_, end)
    assert (result.value, result.count) == (4.5, 2)
    assert unanswered.evaluation.score is None
    assert evaluations.omnichannel_average(teammate, start_, end).value == 1.0
    assert evaluations.omnichannel_average(agent, end, end + timedelta(days=1)).value is None


# --- races (PostgreSQL, real connections) -------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_answers_of_one_link_count_once(closed_ticket_with_evaluation):
    from tests.integration.test_claim_race import run_concurrently

    evaluation = closed_ticket_with_evaluation
    token = token_of(evaluation)
    results = run_concurrently(6, lambda i: evaluations.evaluation_answer(token, 1 + i % 5, f"resposta {i}").pk)
    ok = [value for status, value in results if status == "ok"]
    errors = [value for status, value in results if status == "error"]
    assert ok == [evaluation.pk]
    assert [getattr(e, "code", e) for e in errors] == [evaluations.USED] * 5
    assert TicketEvent.objects.filter(ticket_id=evaluation.ticket_id, kind=EventKind.EVALUATION_COMMENT).count() == 1


@pytest.fixture
def closed_ticket_with_evaluation():
    supervisor = f.SupervisorFactory(username="carla")
    ticket = f.TicketFactory(
        team=f.TeamFactory(supervisors=[supervisor]), closed_at=timezone.now(), closed_by=supervisor
    )
    return evaluations.evaluation_request(ticket=ticket)
