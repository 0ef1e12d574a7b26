"""Etiquetas in a real browser: the agent opens a conversation, picks tags in the header's
"Etiquetas" form, and sees the coloured chips in the header and in the sidebar list."""

import re

import pytest
from playwright.sync_api import expect

from omnichannel.models import AgentState, Channel, Tag
from tests import factories as f
from tests.browser.conftest import PASSWORD
from tests.browser.test_omni_workspace import in_worker
from tests.omnichannel.conftest import make_queue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk(company, process):
    agent = f.AgentFactory(username="agente", first_name="Ana", last_name="Souza", password=PASSWORD)
    f.TeamFactory(name="Suporte N1", members=[agent])
    queue = make_queue(agent.teams.get(), company, process, name="Suporte - Chat", max_conversations=3)
    Tag.objects.create(name="Cliente VIP", color="#b8860b")
    Tag.objects.create(name="Reclamação", color="#c0392b")
    Tag.objects.create(name="Antiga", color="#777777", active=False)
    return {"agent": agent, "queue": queue}


def test_agent_tags_a_conversation(desk, open_as, asgi_server, screenshot):
    from omnichannel import services

    agent = desk["agent"]
    in_worker(lambda: services.agent_set_state(actor=agent, agent=agent, state=AgentState.ONLINE))
    conversation = in_worker(
        lambda: services.conversation_start(
            channel=Channel.LIVE_CHAT, contact_name="Maria Oliveira", contact_email="maria@example.com",
            queue=desk["queue"], first_message="Minha internet caiu de novo.",
        )
    )
    page = open_as("agente")
    page.goto(f"{asgi_server.url}/omni/atendimento/{conversation.pk}/")
    expect(page.locator("#omni-pane-head")).to_contain_text("Maria Oliveira")
    expect(page.locator("#omni-pane-tags")).to_have_count(0)

    page.get_by_role("button", name="Etiquetas").click()
    form = page.locator("#omni-tags-form")
    expect(form).to_be_visible()
    expect(form).not_to_contain_text("Antiga")  # inactive: not offered
    form.get_by_label("Cliente VIP").check()
    form.get_by_label("Reclamação").check()
    form.get_by_role("button", name="Salvar etiquetas").click()

    chips = page.locator("#omni-pane-tags .omni-tag")
    expect(chips).to_have_text(["Cliente VIP", "Reclamação"])
    expect(chips.first).to_have_css("background-color", "rgb(184, 134, 11)")
    item_chips = page.locator(f"#omni-item-{conversation.pk} .omni-tag")
    expect(item_chips).to_have_text(["Cliente VIP", "Reclamação"])
    screenshot(page, "omni-tags-1-tagged")

    # Remove one: the header follows.
    page.get_by_role("button", name="Etiquetas").click()
    expect(page.locator("#omni-tags-form")).to_be_visible()
    page.locator("#omni-tags-form").get_by_label("Reclamação").uncheck()
    page.locator("#omni-tags-form").get_by_role("button", name="Salvar etiquetas").click()
    expect(page.locator("#omni-pane-tags .omni-tag")).to_have_text(["Cliente VIP"])
    assert list(conversation.tags.values_list("name", flat=True)) == ["Cliente VIP"]
    page.get_by_role("button", name="Etiquetas").click()
    expect(page.locator("#omni-tags")).to_have_class(re.compile(r"\bshow\b"))  # opened, animation over
    screenshot(page, "omni-tags-2-form")
