"""The agent's "Média de avaliação omnichannel" (SAC Plus) on the workspace."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from omnichannel.models import Evaluation
from tests.omnichannel.conftest import start


def _rated(queue, agent, score, *, days_ago=1):
    conversation = start(queue)
    ended = timezone.now() - timedelta(days=days_ago)
    conversation.ended_at = ended
    conversation.save(update_fields=["ended_at"])
    return Evaluation.objects.create(
        conversation=conversation, agent=agent, channel="live_chat", nonce=f"n{conversation.pk}",
        expires_at=ended + timedelta(days=7), answered_at=ended, score=score,
    )


def test_workspace_shows_the_agents_30_day_average(client, queue, agent):
    _rated(queue, agent, 5)
    _rated(queue, agent, 4)
    _rated(queue, agent, 1, days_ago=40)  # outside the 30 days
    client.force_login(agent)
    html = client.get(reverse("omnichannel:workspace")).content.decode()
    assert "Média de avaliação omnichannel" in html
    assert "4,5" in html and "2 avaliações" in html


def test_without_ratings_shows_a_dash(client, queue, agent):
    client.force_login(agent)
    html = client.get(reverse("omnichannel:workspace")).content.decode()
    assert 'id="omni-rating"' in html and "—" in html
