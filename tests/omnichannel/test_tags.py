"""Etiquetas: the operation (who may, inactive tags, the event, the publication) and the workspace UI."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from omnichannel.models import ConversationEvent, ConversationEventKind, Tag
from omnichannel.tagging import conversation_set_tags
from tests.omnichannel.conftest import go_online, make_queue, start

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def tags(db):
    return {
        "vip": Tag.objects.create(name="Cliente VIP", color="#b8860b"),
        "claim": Tag.objects.create(name="Reclamação", color="#c0392b"),
        "old": Tag.objects.create(name="Antiga", color="#777777", active=False),
    }


@pytest.fixture
def assigned(agent, queue):
    go_online(agent)
    conversation = start(queue, name="Maria Cliente")
    conversation.refresh_from_db()
    assert conversation.agent_id == agent.pk
    return conversation


def _names(conversation):
    return sorted(conversation.tags.values_list("name", flat=True))


# --- the operation -------------------------------------------------------------------------------


def test_agent_tags_the_conversation_and_the_change_is_recorded_and_published(
    agent, assigned, tags, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        conversation_set_tags(actor=agent, conversation=assigned, tags=[tags["vip"], tags["claim"]])
    assert _names(assigned) == ["Cliente VIP", "Reclamação"]
    event = ConversationEvent.objects.get(conversation=assigned, kind=ConversationEventKind.TAGS_CHANGED)
    assert event.actor == agent
    assert event.data == {"added": ["Cliente VIP", "Reclamação"], "removed": []}
    changes = [p for g, p in published if p.get("model") == "conversation" and p.get("change") == "tags"]
    assert changes and changes[0]["conversation_id"] == assigned.pk


def test_replacing_tags_records_added_and_removed_names(agent, assigned, tags):
    conversation_set_tags(actor=agent, conversation=assigned, tags=[tags["vip"]])
    conversation_set_tags(actor=agent, conversation=assigned, tags=[tags["claim"]])
    last = ConversationEvent.objects.filter(kind=ConversationEventKind.TAGS_CHANGED).order_by("-id").first()
    assert last.data == {"added": ["Reclamação"], "removed": ["Cliente VIP"]}
    assert _names(assigned) == ["Reclamação"]


def test_the_same_tags_again_record_nothing(agent, assigned, tags):
    conversation_set_tags(actor=agent, conversation=assigned, tags=[tags["vip"]])
    conversation_set_tags(actor=agent, conversation=assigned, tags=[tags["vip"]])
    assert ConversationEvent.objects.filter(kind=ConversationEventKind.TAGS_CHANGED).count() == 1


def test_an_inactive_tag_is_refused_in_portuguese_and_nothing_changes(agent, assigned, tags):
    with pytest.raises(ValidationError) as exc:
        conversation_set_tags(actor=agent, conversation=assigned, tags=[tags["vip"], tags["old"]])
    assert "Etiqueta inativa: Antiga." in exc.value.messages
    assert _names(assigned) == []
    assert not ConversationEvent.objects.filter(kind=ConversationEventKind.TAGS_CHANGED).exists()


def test_an_inactive_tag_already_on_the_conversation_may_stay_or_go(agent, assigned, tags):
    assigned.tags.add(tags["old"])
    conversation_set_tags(actor=agent, conversation=assigned, tags=[tags["old"], tags["vip"]])
    assert _names(assigned) == ["Antiga", "Cliente VIP"]
    conversation_set_tags(actor=agent, conversation=assigned, tags=[])
    assert _names(assigned) == []


def test_supervisor_of_the_queue_may_tag_but_teammate_and_outsider_may_not(
    assigned, tags, supervisor, teammate, outsider
):
    conversation_set_tags(actor=supervisor, conversation=assigned, tags=[tags["vip"]])
    assert _names(assigned) == ["Cliente VIP"]
    for user in (teammate, outsider):
        with pytest.raises(PermissionDenied):
            conversation_set_tags(actor=user, conversation=assigned, tags=[tags["claim"]])
    assert _names(assigned) == ["Cliente VIP"]


def test_a_resolved_conversation_may_still_be_tagged_by_its_agent(agent, assigned, tags, contact_reason):
    from omnichannel import services

    services.conversation_finish(actor=agent, conversation=assigned, contact_reason=contact_reason)
    conversation_set_tags(actor=agent, conversation=assigned, tags=[tags["claim"]])
    assert _names(assigned) == ["Reclamação"]


# --- the workspace ---------------------------------------------------------------------------------


def test_header_shows_the_tags_and_the_etiquetas_action_to_the_agent(client, agent, assigned, tags):
    assigned.tags.add(tags["vip"])
    client.force_login(agent)
    response = client.get(reverse("omnichannel:conversation", args=[assigned.pk]))
    assert response.status_code == 200
    text = response.text
    assert 'style="background-color: #b8860b; color: #ffffff;">Cliente VIP</span>' in text
    assert "data-omni-tags-toggle" in text
    assert 'id="omni-tags-form"' in text
    assert "Antiga" not in text  # inactive, not on the conversation: not offered


def test_posting_tags_answers_the_header_with_the_chips(client, agent, assigned, tags):
    client.force_login(agent)
    url = reverse("omnichannel:tags", args=[assigned.pk])
    response = client.post(url, {"tags": [tags["vip"].pk, tags["claim"].pk]}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#omni-pane-head"
    assert 'id="omni-pane-head"' in response.text
    assert response.text.count(">Cliente VIP</span>") == 2  # the header and the sidebar item (out of band)
    assert 'id="omni-sidebar" hx-swap-oob="outerHTML"' in response.text
    assert _names(assigned) == ["Cliente VIP", "Reclamação"]


def test_posting_an_inactive_tag_is_a_400_and_changes_nothing(client, agent, assigned, tags):
    client.force_login(agent)
    response = client.post(reverse("omnichannel:tags", args=[assigned.pk]), {"tags": [tags["old"].pk]}, **HTMX)
    assert response.status_code == 400
    assert 'id="omni-tags-form"' in response.text
    assert _names(assigned) == []


def test_outsider_and_teammate_cannot_reach_the_tags_of_the_conversation(client, assigned, tags, teammate, outsider):
    for user in (teammate, outsider):
        client.force_login(user)
        response = client.post(reverse("omnichannel:tags", args=[assigned.pk]), {"tags": [tags["vip"].pk]}, **HTMX)
        assert response.status_code == 404
    assert _names(assigned) == []


def test_tags_require_login(client, assigned, tags):
    response = client.post(reverse("omnichannel:tags", args=[assigned.pk]), {"tags": [tags["vip"].pk]})
    assert response.status_code == 302
    assert _names(assigned) == []


def test_tag_names_are_escaped_and_a_bad_colour_is_never_written(client, agent, assigned):
    tag = Tag.objects.create(name="<b>x</b>", color='red;"><')  # 7 characters, not a colour
    assigned.tags.add(tag)
    client.force_login(agent)
    text = client.get(reverse("omnichannel:conversation", args=[assigned.pk])).text
    assert "<b>x</b>" not in text and "&lt;b&gt;x&lt;/b&gt;" in text
    assert 'red;"' not in text and "red;&quot;" not in text
    assert "background-color: #6c757d" in text


def test_sidebar_tags_do_not_add_queries_per_conversation(client, agent, team, company, process, tags):
    big = make_queue(team, company, process, name="Suporte - Grande", max_conversations=10)
    go_online(agent)
    first = start(big)
    first.tags.add(tags["vip"])
    client.force_login(agent)
    url = reverse("omnichannel:workspace")
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for _ in range(4):
        start(big).tags.add(tags["vip"], tags["claim"])
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(many.captured_queries) == len(one.captured_queries)
    assert response.text.count(">Reclamação</span>") == 4
