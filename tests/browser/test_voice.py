"""Voz in a real browser: the supervisor's calls list plays a recording the PBX uploaded,
and the agent's workspace shows the call with its player."""

import io
import math
import struct
import wave
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from playwright.sync_api import expect

from omnichannel import voice
from omnichannel.models import Channel, ChannelAccount
from tests import factories as f
from tests.browser.conftest import PASSWORD
from tests.omnichannel.conftest import make_queue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def tone_wav(seconds: float = 1.5) -> bytes:
    """A real WAV file: a 440 Hz tone, 8 kHz mono 16-bit."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        frames = int(8000 * seconds)
        out.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 8000))) for i in range(frames)))
    return buffer.getvalue()


@pytest.fixture
def calls(company, process):
    supervisor = f.SupervisorFactory(username="supervisor", first_name="Carla", last_name="Mendes", password=PASSWORD)
    agent = f.AgentFactory(username="agente", first_name="Ana", last_name="Souza", password=PASSWORD)
    team = f.TeamFactory(name="Suporte N1", members=[agent], supervisors=[supervisor])
    queue = make_queue(team, company, process, name="Suporte - Voz", channel=Channel.VOICE)
    pbx = ChannelAccount.objects.create(name="PABX", channel=Channel.VOICE, webhook_secret="k", queue=queue)
    t0 = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    answered, _ = voice.call_report(
        account=pbx,
        data={
            "id": "a1",
            "direction": "inbound",
            "number": "+5511987654321",
            "agent": "agente",
            "ringing_at": t0.isoformat(),
            "answered_at": (t0 + timedelta(seconds=12)).isoformat(),
            "ended_at": (t0 + timedelta(minutes=4, seconds=12)).isoformat(),
            "outcome": "answered",
            "disposition": "Sem conexão",
            "tags": ["fibra"],
        },
    )
    voice.call_report(
        account=pbx,
        data={
            "id": "c1",
            "direction": "outbound",
            "type": "campaign",
            "campaign": "Cobrança maio",
            "number": "+5519999990000",
            "ringing_at": (t0 + timedelta(minutes=10)).isoformat(),
            "ended_at": (t0 + timedelta(minutes=11)).isoformat(),
            "outcome": "expired",
        },
    )
    voice.call_attach_recording(
        account=pbx, external_id="a1", upload=SimpleUploadedFile("a1.wav", tone_wav(), content_type="audio/wav")
    )
    return {"answered": answered}


def test_supervisor_lists_calls_and_plays_the_recording(calls, open_as, asgi_server, screenshot):
    page = open_as("supervisor")
    page.get_by_role("link", name="Ligações").click()
    expect(page.get_by_role("heading", name="Ligações")).to_be_visible()
    table = page.locator("#calls-table")
    expect(table.locator("tbody tr")).to_have_count(2)
    row = table.locator(f'tr[data-call="{calls["answered"].pk}"]')
    expect(row).to_contain_text("Recebida")
    expect(row).to_contain_text("00:04:00")
    expect(row).to_contain_text("Atendida")
    expect(row).to_contain_text("Sem conexão")
    expect(table).to_contain_text("Campanha: Cobrança maio")
    expect(table).to_contain_text("Expirada")
    expect(page.locator("[data-received]")).to_have_text("1")
    audio = row.locator("audio[data-call-audio]")
    expect(audio).to_be_visible()
    # The browser fetches and decodes the recording through the permission-checked view.
    duration = audio.evaluate(
        """a => new Promise((ok, fail) => {
            a.addEventListener('loadedmetadata', () => ok(a.duration), {once: true});
            a.addEventListener('error', () => fail(new Error('media error ' + (a.error && a.error.code))), {once: true});
            a.preload = 'metadata'; a.load();
        })"""
    )
    assert duration == pytest.approx(1.5, abs=0.1)
    screenshot(page, "voice-calls-list")


def test_agent_sees_the_call_and_player_in_the_workspace(calls, open_as, asgi_server, screenshot):
    page = open_as("agente")
    page.goto(f"{asgi_server.url}/omni/atendimento/{calls['answered'].conversation_id}/")
    call = page.locator(f"#omni-call-{calls['answered'].pk}")
    expect(call).to_contain_text("+5511987654321")
    expect(call).to_contain_text("00:04:00")
    expect(call.locator("audio[data-call-audio]")).to_be_visible()
    screenshot(page, "voice-workspace-call")
