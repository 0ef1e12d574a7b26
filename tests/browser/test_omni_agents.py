"""The supervisor's "Agentes" card in a real browser, served over ASGI so both sockets work.

The agent works with the workspace open; the supervisor forces them Ausente with a
pause reason from the card: the card shows it, the agent's own top bar turns to
"Pausado · Almoço" without a reload, and the timeline records who forced it.
"""

import re

import pytest
from playwright.sync_api import expect

from omnichannel.models import AgentPresence, AgentState, PauseReason, PresenceInterval
from tests import factories as f
from tests.browser.conftest import PASSWORD
from tests.browser.test_omni_workspace import in_worker
from tests.omnichannel.conftest import make_queue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk(company, process):
    supervisor = f.SupervisorFactory(username="supervisor", first_name="Carla", last_name="Mendes", password=PASSWORD)
    agent = f.AgentFactory(username="agente", first_name="Ana", last_name="Souza", password=PASSWORD)
    teammate = f.AgentFactory(username="bruno", first_name="Bruno", last_name="Lima", password=PASSWORD)
    team = f.TeamFactory(name="Suporte N1", members=[agent, teammate], supervisors=[supervisor])
    PauseReason.objects.create(name="Almoço")
    PauseReason.objects.create(name="Descanso")
    make_queue(team, company, process, name="Suporte - Chat", max_conversations=3)
    return {"agent": agent, "teammate": teammate, "supervisor": supervisor}


def test_supervisor_forces_an_agent_away_with_a_reason(desk, open_as, asgi_server, screenshot):
    from omnichannel import services

    agent = desk["agent"]
    in_worker(lambda: services.agent_set_state(actor=agent, agent=agent, state=AgentState.ONLINE))

    agent_page = open_as("agente")
    agent_page.goto(f"{asgi_server.url}/omni/atendimento/")
    expect(agent_page.locator("#omni-socket")).to_have_attribute("data-state", "online")
    expect(agent_page.locator("#omni-presence-toggle")).to_have_attribute("aria-label", re.compile("Aguardando"))

    page = open_as("supervisor")
    page.goto(f"{asgi_server.url}/omni/atendimento/")
    expect(page.locator("#omni-socket")).to_have_attribute("data-state", "online")
    card = page.locator("#omni-agents")
    row = card.locator(f"[data-omni-agent='{agent.pk}']")
    expect(row).to_have_attribute("data-state", "online")
    expect(row.locator("[data-omni-agent-state]")).to_have_text("Online")
    expect(card.locator(f"[data-omni-agent='{desk['teammate'].pk}']")).to_have_attribute("data-state", "offline")
    page.evaluate("window.__noReload = 'yes'")

    # Ausente needs a reason: the browser keeps the form until one is chosen ...
    row.get_by_role("button", name="Deixar Ana Souza Ausente").click()
    expect(row).to_have_attribute("data-state", "online")
    # ... and without the browser's check the server refuses it in Portuguese, changing nothing.
    row.locator("select[name=pause_reason]").evaluate("el => el.removeAttribute('required')")
    row.get_by_role("button", name="Deixar Ana Souza Ausente").click()
    expect(row.locator("[data-omni-agent-error]")).to_have_text("Escolha um motivo de pausa.")
    expect(row).to_have_attribute("data-state", "online")
    screenshot(page, "omni-agents-0-reason-missing")
    assert AgentPresence.objects.get(pk=agent.pk).state == AgentState.ONLINE

    row.get_by_label("Motivo de pausa de Ana Souza").select_option(label="Almoço")
    row.get_by_role("button", name="Deixar Ana Souza Ausente").click()

    row = page.locator(f"#omni-agents [data-omni-agent='{agent.pk}']")
    expect(row).to_have_attribute("data-state", "away")
    expect(row.locator("[data-omni-agent-state]")).to_have_text("Ausente")
    expect(row.locator("[data-omni-agent-reason]")).to_have_text(re.compile("Almoço"))
    expect(row.locator("[data-omni-since]")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    expect(row.get_by_role("button", name="Deixar Ana Souza Online")).to_be_visible()
    assert page.evaluate("window.__noReload") == "yes"
    screenshot(page, "omni-agents-1-supervisor-forced-away")

    # The agent's own status control follows, live.
    expect(agent_page.locator("#omni-presence-toggle")).to_have_attribute("aria-label", re.compile("Pausado"))
    expect(agent_page.locator("#omni-presence")).to_contain_text("Almoço")
    screenshot(agent_page, "omni-agents-2-agent-paused")

    presence = AgentPresence.objects.select_related("pause_reason").get(pk=agent.pk)
    assert (presence.state, presence.pause_reason.name) == (AgentState.AWAY, "Almoço")
    last = PresenceInterval.objects.filter(agent=agent).latest("started_at", "id")
    assert (last.state, last.forced_by_id) == (AgentState.AWAY, desk["supervisor"].pk)
