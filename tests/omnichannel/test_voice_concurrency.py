"""Voz on PostgreSQL: the PBX reporting the same call several times at once stores it once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from omnichannel import voice
from omnichannel.models import CallRecord, Channel, ChannelAccount, Conversation
from tests import factories as f
from tests.integration.test_claim_race import run_concurrently
from tests.omnichannel.conftest import make_queue

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_simultaneous_first_reports_of_one_call_make_one_call_and_one_conversation():
    agent = f.AgentFactory(username="ana")
    team = f.TeamFactory(name="Suporte N1", members=[agent])
    queue = make_queue(team, f.CompanyFactory(), f.process_with_subprocesses(), name="Suporte - Voz", channel=Channel.VOICE)
    pbx = ChannelAccount.objects.create(name="PABX", channel=Channel.VOICE, webhook_secret="k", queue=queue)
    t0 = timezone.now() - timedelta(hours=1)
    report = {
        "id": "race-1",
        "direction": "inbound",
        "number": "11987654321",
        "agent": "ana",
        "ringing_at": t0.isoformat(),
        "answered_at": (t0 + timedelta(seconds=10)).isoformat(),
        "ended_at": (t0 + timedelta(seconds=70)).isoformat(),
        "outcome": "answered",
    }

    results = run_concurrently(4, lambda i: voice.call_report(account=pbx, data=report)[1])

    assert [r[0] for r in results] == ["ok"] * 4, results
    assert sorted(r[1] for r in results) == [False, False, False, True]
    assert CallRecord.objects.count() == 1
    assert Conversation.objects.count() == 1
    assert CallRecord.objects.get().conversation.duration == timedelta(seconds=60)
