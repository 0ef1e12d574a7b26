"""The demo seed adds queues, pause reasons, a bot menu and conversations in every open state."""

from io import StringIO

import pytest
from django.core.management import call_command

from omnichannel.models import (
    AgentPresence,
    AgentState,
    BotMenu,
    Channel,
    Conversation,
    ConversationStatus,
    PauseReason,
    Queue,
)

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_omnichannel_rows():
    call_command("seed_demo", tickets=60, seed=1, stdout=StringIO())

    assert set(Queue.objects.values_list("channel", flat=True)) == set(Channel.values)
    assert PauseReason.objects.filter(name="Almoço").exists()
    assert BotMenu.objects.get(entry_point="site").options.count() == 2
    statuses = set(Conversation.objects.values_list("status", flat=True))
    assert {ConversationStatus.BOT, ConversationStatus.QUEUED, ConversationStatus.IN_PROGRESS, ConversationStatus.CONCLUDED} <= statuses
    assert AgentPresence.objects.get(agent__username="agente3").state == AgentState.AWAY
    assert not Conversation.objects.filter(ticket__isnull=False).exists()  # contacts not yet identified


def test_demo_has_one_account_per_provider_channel(db, django_capture_on_commit_callbacks):
    from django.core.management import call_command

    from omnichannel.models import ChannelAccount

    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", tickets=20, verbosity=0)
    channels = set(ChannelAccount.objects.values_list("channel", flat=True))
    assert {"whatsapp", "telegram", "facebook", "instagram", "email", "voice"} <= channels
    before = ChannelAccount.objects.count()
    from omnichannel.demo import create_channel_accounts

    create_channel_accounts()
    assert ChannelAccount.objects.count() == before
