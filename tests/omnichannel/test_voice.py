"""Voz: the PBX's API (authentication, call reports, recordings), the calls list and playback."""

import json
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from omnichannel import voice
from omnichannel.models import (
    AgentPresence,
    CallOutcome,
    CallRecord,
    CallType,
    Channel,
    ChannelAccount,
    ContactReason,
    Conversation,
    ConversationEventKind,
    ConversationStatus,
    InboundEvent,
)
from tests.omnichannel.conftest import make_queue
from tickets.models import EventKind, TicketEvent

SECRET = "pabx-chave-secreta"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 200
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\x00" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


@pytest.fixture
def voice_queue(team, company, process):
    return make_queue(team, company, process, name="Suporte - Voz", channel=Channel.VOICE)


@pytest.fixture
def pbx(voice_queue):
    return ChannelAccount.objects.create(name="PABX", channel=Channel.VOICE, webhook_secret=SECRET, queue=voice_queue)


@pytest.fixture
def other_pbx(db):
    return ChannelAccount.objects.create(name="PABX 2", channel=Channel.VOICE, webhook_secret="outra-chave")


@pytest.fixture
def t0():
    return timezone.now().replace(microsecond=0) - timedelta(hours=2)


def report_url(account) -> str:
    return reverse("voice_api:report", args=[account.key])


def recording_url(account, external_id: str) -> str:
    return reverse("voice_api:recording", args=[account.key, external_id])


def post_report(client, account, payload, *, key: str | None = SECRET):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key is not None else {}
    body = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
    return client.post(report_url(account), data=body, content_type="application/json", **headers)


def answered(t0, **extra):
    payload = {
        "id": "1700000000.42",
        "direction": "inbound",
        "number": "+55 (11) 98765-4321",
        "queue": "Suporte - Voz",
        "agent": "ana",
        "ringing_at": t0.isoformat(),
        "answered_at": (t0 + timedelta(seconds=20)).isoformat(),
        "ended_at": (t0 + timedelta(minutes=5, seconds=20)).isoformat(),
        "outcome": "answered",
        "disposition": "Sem conexão",
        "tags": ["fibra", "reincidente"],
    }
    payload.update(extra)
    return payload


# --- authentication ---------------------------------------------------------------------------


def test_report_without_key_is_refused_and_nothing_stored(client, pbx, t0):
    response = post_report(client, pbx, answered(t0), key=None)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "Chave da API" in response.json()["error"]
    assert not CallRecord.objects.exists()


def test_report_with_wrong_key_is_refused(client, pbx, t0):
    assert post_report(client, pbx, answered(t0), key="errada").status_code == 401
    assert not CallRecord.objects.exists()


def test_report_with_another_accounts_key_is_refused(client, pbx, other_pbx, t0):
    assert post_report(client, pbx, answered(t0), key="outra-chave").status_code == 401
    assert not CallRecord.objects.exists()


def test_unknown_address_answers_like_a_wrong_key(client, pbx, t0):
    url = reverse("voice_api:report", args=[uuid.uuid4()])
    response = client.post(url, data=json.dumps(answered(t0)), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {SECRET}")
    assert response.status_code == 401


def test_inactive_account_or_empty_secret_never_authenticates(client, pbx, t0):
    ChannelAccount.objects.filter(pk=pbx.pk).update(active=False)
    assert post_report(client, pbx, answered(t0)).status_code == 401
    ChannelAccount.objects.filter(pk=pbx.pk).update(active=True, webhook_secret="")
    assert post_report(client, pbx, answered(t0), key="").status_code == 401


def test_non_voice_account_is_not_a_pbx(client, db, t0):
    account = ChannelAccount.objects.create(name="Telegram", channel=Channel.TELEGRAM, webhook_secret=SECRET)
    assert post_report(client, account, answered(t0)).status_code == 401


# --- reports ----------------------------------------------------------------------------------------


def test_answered_call_becomes_a_concluded_voice_conversation(client, pbx, agent, voice_queue, t0):
    response = post_report(client, pbx, answered(t0))
    assert response.status_code == 201, response.content
    call = CallRecord.objects.get()
    assert (call.direction, call.call_type, call.number) == ("inbound", "normal", "+5511987654321")
    assert call.queue == voice_queue and call.agent == agent
    assert call.tags == ["fibra", "reincidente"]
    assert call.duration == timedelta(minutes=5)
    conversation = call.conversation
    assert conversation.channel == Channel.VOICE
    assert conversation.status == ConversationStatus.CONCLUDED
    assert conversation.agent == agent
    assert conversation.human_started_at == t0 + timedelta(seconds=20)
    assert conversation.human_ended_at == t0 + timedelta(minutes=5, seconds=20)
    assert conversation.duration == timedelta(minutes=5)
    assert conversation.queue_time == timedelta(seconds=20)
    assert conversation.protocol.startswith("C")
    assert response.json() == {"id": "1700000000.42", "created": True, "outcome": "answered", "conversation": conversation.protocol}
    kinds = list(conversation.events.values_list("kind", flat=True))
    assert kinds == [
        ConversationEventKind.STARTED,
        ConversationEventKind.QUEUED,
        ConversationEventKind.ASSIGNED,
        ConversationEventKind.CLOSED,
    ]
    assert InboundEvent.objects.filter(account=pbx, kind="call_report").count() == 1


def test_call_reported_after_the_fact_takes_no_agent_capacity(client, pbx, agent, t0):
    post_report(client, pbx, answered(t0))
    assert not AgentPresence.objects.filter(pk=agent.pk).exists()
    assert not Conversation.objects.filter(status__in=["queued", "in_progress"]).exists()


def test_later_report_updates_the_same_call(client, pbx, agent, t0):
    ringing = {"id": "c-1", "direction": "inbound", "number": "11987654321", "ringing_at": t0.isoformat()}
    assert post_report(client, pbx, ringing).status_code == 201
    call = CallRecord.objects.get()
    assert call.outcome == "" and call.conversation is None
    assert call.queue == pbx.queue  # the account's queue when the report names none

    ended = {
        "id": "c-1",
        "agent": "ana",
        "answered_at": (t0 + timedelta(seconds=5)).isoformat(),
        "ended_at": (t0 + timedelta(seconds=65)).isoformat(),
        "outcome": "answered",
    }
    response = post_report(client, pbx, ended)
    assert response.status_code == 200
    assert response.json()["created"] is False
    call.refresh_from_db()
    assert call.number == "11987654321" and call.outcome == "answered"
    assert call.conversation.duration == timedelta(seconds=60)

    # The same report again changes nothing.
    events = call.conversation.events.count()
    assert post_report(client, pbx, ended).status_code == 200
    assert CallRecord.objects.count() == 1 and Conversation.objects.count() == 1
    assert call.conversation.events.count() == events


def test_wrap_up_may_change_after_the_end_but_not_the_outcome(client, pbx, t0):
    post_report(client, pbx, answered(t0))
    response = post_report(client, pbx, {"id": "1700000000.42", "outcome": "abandoned", "answered_at": None})
    assert response.status_code == 400
    assert "só a tabulação" in json.dumps(response.json(), ensure_ascii=False)
    reason = ContactReason.objects.create(name="Financeiro")
    response = post_report(client, pbx, {"id": "1700000000.42", "disposition": "financeiro", "tags": ["boleto"]})
    assert response.status_code == 200
    call = CallRecord.objects.get()
    assert (call.outcome, call.disposition, call.tags) == ("answered", "financeiro", ["boleto"])
    assert call.conversation.contact_reason == reason


@pytest.mark.parametrize(
    ("outcome", "status"),
    [("abandoned", ConversationStatus.ABANDONED), ("expired", ConversationStatus.ABANDONED)],
)
def test_unanswered_outcomes_close_as_abandoned_without_agent(client, pbx, t0, outcome, status):
    payload = answered(t0, outcome=outcome, answered_at=None, agent=None)
    assert post_report(client, pbx, payload).status_code == 201
    call = CallRecord.objects.get()
    assert call.outcome == outcome
    conversation = call.conversation
    assert conversation.status == status
    assert conversation.agent is None and conversation.human_started_at is None and conversation.duration is None
    assert conversation.ended_at == t0 + timedelta(minutes=5, seconds=20)


def test_callback_and_campaign_calls_keep_their_type(client, pbx, t0):
    assert post_report(client, pbx, answered(t0, id="cb-1", type="callback")).status_code == 201
    campaign = answered(t0, id="cp-1", type="campaign", campaign="Cobrança maio", direction="outbound")
    assert post_report(client, pbx, campaign).status_code == 201
    assert CallRecord.objects.get(external_id="cb-1").call_type == CallType.CALLBACK
    call = CallRecord.objects.get(external_id="cp-1")
    assert (call.call_type, call.campaign, call.direction) == (CallType.CAMPAIGN, "Cobrança maio", "outbound")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"direction": "sideways"}, "direction"),
        ({"number": "abc"}, "number"),
        ({"number": 11987654321}, "number"),
        ({"ringing_at": "ontem"}, "ringing_at"),
        ({"ringing_at": "2026-05-04T14:30:00"}, "ringing_at"),
        ({"outcome": "lost"}, "outcome"),
        ({"agent": "ninguem"}, "agent"),
        ({"agent": "otavio"}, "agent"),
        ({"agent": None}, "agent"),
        ({"queue": "Fila inexistente"}, "queue"),
        ({"queue": 10**30}, "queue"),
        ({"queue": [1]}, "queue"),
        ({"type": "campaign"}, "campaign"),
        ({"campaign": "Sem tipo"}, "campaign"),
        ({"tags": "fibra"}, "tags"),
        ({"tags": ["x" * 41]}, "tags"),
        ({"disposition": 7}, "disposition"),
        ({"id": "a/b"}, "id"),
        ({"id": None}, "id"),
    ],
)
def test_invalid_report_is_refused_field_by_field_and_nothing_stored(client, pbx, outsider, other_team, t0, change, field):
    response = post_report(client, pbx, answered(t0, **change))
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not CallRecord.objects.exists() and not Conversation.objects.exists()


def test_times_must_be_ordered_and_not_in_the_future(client, pbx, t0):
    early = answered(t0, answered_at=(t0 - timedelta(seconds=1)).isoformat())
    assert "answered_at" in post_report(client, pbx, early).json()["fields"]
    before = answered(t0, ended_at=(t0 + timedelta(seconds=10)).isoformat())
    assert "ended_at" in post_report(client, pbx, before).json()["fields"]
    future = answered(t0, ringing_at=(timezone.now() + timedelta(hours=1)).isoformat())
    assert post_report(client, pbx, future).status_code == 400
    assert not CallRecord.objects.exists()


def test_queue_of_another_channel_is_refused(client, pbx, team, company, process, t0):
    make_queue(team, company, process, name="Suporte - Chat")
    response = post_report(client, pbx, answered(t0, queue="Suporte - Chat"))
    assert response.status_code == 400 and "Voz" in response.json()["fields"]["queue"]


def test_agent_by_email_and_queue_by_id(client, pbx, agent, voice_queue, t0):
    agent.email = "ana@example.com"
    agent.save()
    assert post_report(client, pbx, answered(t0, agent="ANA@example.com", queue=voice_queue.pk)).status_code == 201
    assert CallRecord.objects.get().agent == agent


@pytest.mark.parametrize("body", ["{", "[1, 2]", '"texto"', b"\xff\xfe", "[" * 5000 + "]" * 5000])
def test_malformed_bodies_answer_400_not_500(client, pbx, body):
    response = post_report(client, pbx, body)
    assert response.status_code == 400
    assert response.json()["error"]


def test_huge_report_is_refused(client, pbx, t0):
    payload = answered(t0, disposition="x" * 70_000)
    assert post_report(client, pbx, payload).status_code == 413
    assert not CallRecord.objects.exists()


def test_get_is_not_allowed(client, pbx):
    assert client.get(report_url(pbx), HTTP_AUTHORIZATION=f"Bearer {SECRET}").status_code == 405


def test_known_customer_gets_the_conversation_and_a_ticket(client, pbx, customer, voice_queue, t0):
    customer.mobile = "11987654321"
    customer.save()
    post_report(client, pbx, answered(t0))
    conversation = CallRecord.objects.get().conversation
    assert conversation.customer == customer
    assert conversation.contact_name == customer.name
    ticket = conversation.ticket
    assert ticket is not None and ticket.team_id == voice_queue.team_id
    closed = TicketEvent.objects.get(ticket=ticket, kind=EventKind.CONVERSATION_CLOSED)
    assert "Duração: 00:05:00" in closed.data["summary"]
    assert (closed.data["protocol"], closed.data["channel"]) == (conversation.protocol, "voice")
    assert conversation.events.filter(kind=ConversationEventKind.TICKET_LINKED).exists()


def test_unknown_number_has_no_customer_nor_ticket(client, pbx, t0):
    post_report(client, pbx, answered(t0))
    conversation = CallRecord.objects.get().conversation
    assert conversation.customer is None and conversation.ticket is None
    assert conversation.contact_name == "+5511987654321"


# --- recordings -------------------------------------------------------------------------------------


@pytest.fixture
def call(client, pbx, t0):
    post_report(client, pbx, answered(t0))
    return CallRecord.objects.get()


def upload(client, account, external_id, content: bytes, *, name="gravacao.wav", content_type="audio/wav", key=SECRET):
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile(name, content, content_type=content_type)
    return client.post(recording_url(account, external_id), {"recording": file}, HTTP_AUTHORIZATION=f"Bearer {key}")


def test_recording_upload_multipart(client, pbx, call):
    response = upload(client, pbx, call.external_id, WAV)
    assert response.status_code == 200, response.content
    call.refresh_from_db()
    assert call.recording_type == "audio/wav"
    assert call.recording.read() == WAV


def test_recording_upload_raw_body_replaces_the_previous_one(client, pbx, call):
    upload(client, pbx, call.external_id, WAV)
    call.refresh_from_db()
    first = call.recording.name
    response = client.post(
        recording_url(pbx, call.external_id), data=MP3, content_type="audio/mpeg", HTTP_AUTHORIZATION=f"Bearer {SECRET}"
    )
    assert response.status_code == 200, response.content
    call.refresh_from_db()
    assert call.recording_type == "audio/mpeg" and call.recording.read() == MP3
    assert call.recording.name != first


def test_recording_upload_requires_the_key(client, pbx, other_pbx, call):
    assert upload(client, pbx, call.external_id, WAV, key="errada").status_code == 401
    assert upload(client, other_pbx, call.external_id, WAV, key="outra-chave").status_code == 404
    call.refresh_from_db()
    assert not call.recording


@pytest.mark.parametrize(
    ("content", "name", "content_type"),
    [
        (PNG, "gravacao.wav", "audio/wav"),  # not audio, whatever it claims
        (WAV, "gravacao.wav", "text/plain"),
        (WAV, "gravacao.exe", "audio/wav"),
        (MP3, "gravacao.mp3", "audio/wav"),  # claimed type does not match the content
    ],
)
def test_recording_of_the_wrong_type_is_refused(client, pbx, call, content, name, content_type):
    response = upload(client, pbx, call.external_id, content, name=name, content_type=content_type)
    assert response.status_code == 400
    assert "recording" in response.json()["fields"]
    call.refresh_from_db()
    assert not call.recording


def test_raw_body_that_is_not_audio_is_refused(client, pbx, call):
    response = client.post(recording_url(pbx, call.external_id), data=b"oi", content_type="text/plain", HTTP_AUTHORIZATION=f"Bearer {SECRET}")
    assert response.status_code == 415


def test_recording_too_big_is_refused(client, pbx, call, settings):
    settings.VOICE_RECORDING_MAX_BYTES = 100
    assert upload(client, pbx, call.external_id, WAV).status_code == 413
    raw = client.post(recording_url(pbx, call.external_id), data=WAV, content_type="audio/wav", HTTP_AUTHORIZATION=f"Bearer {SECRET}")
    assert raw.status_code == 413
    call.refresh_from_db()
    assert not call.recording


def test_recording_of_an_unknown_call_is_404(client, pbx, call):
    assert upload(client, pbx, "nao-existe", WAV).status_code == 404


# --- playback ------------------------------------------------------------------------------------


@pytest.fixture
def recorded(client, pbx, call):
    upload(client, pbx, call.external_id, WAV)
    call.refresh_from_db()
    return call


def test_agent_of_the_call_and_supervisor_may_play_the_recording(client, recorded, agent, supervisor):
    url = reverse("calls:recording", args=[recorded.pk])
    for user in (agent, supervisor):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "audio/wav"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"".join(response.streaming_content) == WAV


def test_range_request_answers_206(client, recorded, supervisor):
    client.force_login(supervisor)
    response = client.get(reverse("calls:recording", args=[recorded.pk]), HTTP_RANGE="bytes=4-11")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 4-11/{len(WAV)}"
    assert response.content == WAV[4:12]
    tail = client.get(reverse("calls:recording", args=[recorded.pk]), HTTP_RANGE="bytes=-10")
    assert tail.status_code == 206 and tail.content == WAV[-10:]
    bad = client.get(reverse("calls:recording", args=[recorded.pk]), HTTP_RANGE=f"bytes={len(WAV) + 5}-")
    assert bad.status_code == 416


def test_outsider_and_teammate_may_not_play_it(client, recorded, outsider, teammate):
    for user in (outsider, teammate):
        client.force_login(user)
        assert client.get(reverse("calls:recording", args=[recorded.pk])).status_code == 404


def test_anonymous_is_sent_to_login(client, recorded):
    response = client.get(reverse("calls:recording", args=[recorded.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_workspace_pane_shows_the_call_and_its_player(client, recorded, agent):
    client.force_login(agent)
    response = client.get(reverse("omnichannel:conversation", args=[recorded.conversation_id]))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'src="{reverse("calls:recording", args=[recorded.pk])}"' in html
    assert "<audio" in html and "+5511987654321" in html


# --- the calls list and "Ligações recebidas" ----------------------------------------------------------


def test_received_calls_counts_inbound_answered_of_the_agent_in_the_period(client, pbx, agent, teammate, t0):
    post_report(client, pbx, answered(t0, id="r1"))
    post_report(client, pbx, answered(t0, id="r2", agent="bruno"))
    post_report(client, pbx, answered(t0, id="r3", direction="outbound"))
    post_report(client, pbx, answered(t0, id="r4", outcome="abandoned", answered_at=None, agent=None))
    old = t0 - timedelta(days=3)
    post_report(client, pbx, answered(old, id="r5"))
    start, end = t0 - timedelta(hours=1), t0 + timedelta(hours=1)
    # r1 only: r2 is Bruno's, r3 outbound, r4 unanswered, r5 out of the period.
    assert voice.received_calls_count(agent=agent, start=start, end=end) == 1
    assert voice.received_calls_count(agent=teammate, start=start, end=end) == 1
    by_agent = {row["agent__username"]: row["total"] for row in voice.received_calls_by(start=start, end=end)}
    assert by_agent == {"ana": 1, "bruno": 1}


def _make_calls(client, pbx, t0, n: int, offset: int = 0) -> None:
    for i in range(n):
        post_report(client, pbx, answered(t0, id=f"l{offset + i}", agent="ana" if i % 2 else "bruno"))


def test_calls_list_for_the_supervisor_without_n_plus_one(client, pbx, supervisor, t0):
    _make_calls(client, pbx, t0, 2)
    client.force_login(supervisor)
    url = reverse("calls:list")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        response = client.get(url)
    assert response.status_code == 200
    _make_calls(client, pbx, t0, 10, offset=100)
    client.force_login(supervisor)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    html = response.content.decode()
    assert html.count('data-call="') == 12
    assert len(many) == len(few)
    assert 'data-received>12<' in html


def test_calls_list_filters(client, pbx, supervisor, t0):
    post_report(client, pbx, answered(t0, id="f1"))
    post_report(client, pbx, answered(t0, id="f2", type="callback", outcome="expired", answered_at=None, agent=None))
    client.force_login(supervisor)
    url = reverse("calls:list")
    html = client.get(url, {"call_type": "callback"}).content.decode()
    assert html.count('data-call="') == 1 and "Retorno solicitado" in html
    html = client.get(url, {"outcome": CallOutcome.ANSWERED}).content.decode()
    assert html.count('data-call="') == 1
    old = (t0 - timedelta(days=30)).date().isoformat()
    html = client.get(url, {"start": old, "end": old}).content.decode()
    assert html.count('data-call="') == 0
    assert client.get(url, {"start": "não é data"}).status_code == 400


def test_calls_list_is_for_supervisors_of_the_queue(client, pbx, agent, outsider, t0):
    post_report(client, pbx, answered(t0))
    client.force_login(agent)
    assert client.get(reverse("calls:list")).status_code == 403
    from tests import factories as f

    stranger = f.SupervisorFactory(username="sofia")
    client.force_login(stranger)
    response = client.get(reverse("calls:list"))
    assert response.status_code == 200 and 'data-call="' not in response.content.decode()


def test_admin_lists_calls_read_only(client, pbx, admin_user, t0):
    post_report(client, pbx, answered(t0))
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    response = client.get(reverse("admin:omnichannel_callrecord_changelist"))
    assert response.status_code == 200 and "+5511987654321" in response.content.decode()
    assert client.get(reverse("admin:omnichannel_callrecord_add")).status_code == 403


def test_workspace_shows_the_agents_ligacoes_recebidas_today(client, pbx, agent, voice_queue, time_machine):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    time_machine.move_to(datetime(2026, 12, 4, 15, 0, tzinfo=ZoneInfo("America/Sao_Paulo")), tick=False)
    now = timezone.now()
    for n, started in enumerate([now - timedelta(hours=3), now - timedelta(hours=1)]):
        assert post_report(client, pbx, answered(started, id=f"hoje-{n}")).status_code == 201
    assert post_report(client, pbx, answered(now - timedelta(days=1), id="ontem")).status_code == 201
    missed = {"id": "perdida", "outcome": "abandoned", "answered_at": None, "agent": None}
    assert post_report(client, pbx, answered(now - timedelta(hours=2), **missed)).status_code == 201
    client.force_login(agent)
    html = client.get(reverse("omnichannel:workspace")).content.decode()
    card = html[html.index('id="omni-calls-today"') :]
    assert "Ligações recebidas" in card
    assert "<strong>2</strong>" in card[:600]
