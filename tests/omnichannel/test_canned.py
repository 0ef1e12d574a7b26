"""Mensagens pré-salvas: who writes what, unique shortcuts, the "/" selector and the screens."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from omnichannel import canned
from omnichannel.models import CannedCategory, CannedResponse
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def greeting(db):
    return CannedCategory.objects.create(name="Saudação", order=0)


@pytest.fixture
def billing(db):
    return CannedCategory.objects.create(name="Financeiro", order=1)


def make(actor, category, shortcut, *, public=False, title=None, body=None):
    return canned.canned_create(
        actor,
        category=category,
        shortcut=shortcut,
        title=title or f"Título {shortcut}",
        body=body or f"Texto de {shortcut}.",
        public=public,
    )


# --- operations: permissions ---------------------------------------------------------------------


def test_agent_creates_a_personal_one(agent, greeting):
    row = make(agent, greeting, "/Ola ")
    assert row.owner == agent
    assert row.created_by == agent
    assert row.shortcut == "ola"


def test_agent_cannot_create_a_public_one(agent, greeting):
    with pytest.raises(PermissionDenied):
        make(agent, greeting, "ola", public=True)
    assert not CannedResponse.objects.exists()


def test_supervisor_and_admin_create_public_ones(supervisor, admin_user, greeting):
    first = make(supervisor, greeting, "ola", public=True)
    second = make(admin_user, greeting, "tchau", public=True)
    assert first.owner is None and second.owner is None
    assert first.created_by == supervisor


def test_agent_edits_and_deletes_only_their_own(agent, teammate, greeting, billing):
    mine = make(agent, greeting, "ola")
    theirs = make(teammate, greeting, "ola")
    canned.canned_update(agent, canned=mine, category=billing, shortcut="oi", title="Oi", body="Oi!")
    mine.refresh_from_db()
    assert (mine.shortcut, mine.category, mine.body) == ("oi", billing, "Oi!")
    with pytest.raises(PermissionDenied):
        canned.canned_update(agent, canned=theirs, category=billing, shortcut="x", title="X", body="X")
    with pytest.raises(PermissionDenied):
        canned.canned_delete(agent, canned=theirs)
    theirs.refresh_from_db()
    assert theirs.shortcut == "ola"
    canned.canned_delete(agent, canned=mine)
    assert not CannedResponse.objects.filter(pk=mine.pk).exists()


def test_agent_cannot_edit_or_delete_a_public_one(agent, supervisor, greeting):
    public = make(supervisor, greeting, "ola", public=True)
    with pytest.raises(PermissionDenied):
        canned.canned_update(agent, canned=public, category=greeting, shortcut="ola", title="T", body="Mudado")
    with pytest.raises(PermissionDenied):
        canned.canned_delete(agent, canned=public)
    public.refresh_from_db()
    assert public.body == "Texto de ola."


def test_agent_cannot_make_their_own_public(agent, greeting):
    mine = make(agent, greeting, "ola")
    with pytest.raises(PermissionDenied):
        canned.canned_update(agent, canned=mine, category=greeting, shortcut="ola", title="T", body="B", public=True)
    mine.refresh_from_db()
    assert mine.owner == agent


def test_supervisor_edits_a_public_one_and_makes_their_own_public(supervisor, greeting):
    public = make(supervisor, greeting, "ola", public=True)
    canned.canned_update(supervisor, canned=public, category=greeting, shortcut="ola", title="T", body="Novo")
    public.refresh_from_db()
    assert public.body == "Novo" and public.owner is None
    mine = make(supervisor, greeting, "meu")
    canned.canned_update(supervisor, canned=mine, category=greeting, shortcut="meu", title="T", body="B", public=True)
    mine.refresh_from_db()
    assert mine.owner is None


# --- operations: validation and uniqueness -------------------------------------------------------


def test_duplicate_personal_shortcut_is_refused_in_portuguese(agent, greeting):
    make(agent, greeting, "ola")
    with pytest.raises(ValidationError) as exc:
        make(agent, greeting, "OLA")
    assert exc.value.message_dict == {"shortcut": ["Você já tem uma mensagem com o atalho /ola."]}
    assert CannedResponse.objects.count() == 1


def test_duplicate_public_shortcut_is_refused(supervisor, admin_user, greeting):
    make(supervisor, greeting, "ola", public=True)
    with pytest.raises(ValidationError) as exc:
        make(admin_user, greeting, "ola", public=True)
    assert exc.value.message_dict == {"shortcut": ["Já existe uma mensagem pública com o atalho /ola."]}


def test_same_shortcut_is_fine_for_two_agents_and_beside_a_public_one(agent, teammate, supervisor, greeting):
    make(agent, greeting, "ola")
    make(teammate, greeting, "ola")
    make(supervisor, greeting, "ola", public=True)
    assert CannedResponse.objects.filter(shortcut="ola").count() == 3


def test_update_to_a_taken_shortcut_is_refused(agent, greeting):
    make(agent, greeting, "ola")
    other = make(agent, greeting, "oi")
    with pytest.raises(ValidationError) as exc:
        canned.canned_update(agent, canned=other, category=greeting, shortcut="ola", title="T", body="B")
    assert "shortcut" in exc.value.message_dict
    other.refresh_from_db()
    assert other.shortcut == "oi"


@pytest.mark.parametrize(
    ("shortcut", "title", "body", "field"),
    [
        ("", "T", "B", "shortcut"),
        ("com espaço", "T", "B", "shortcut"),
        ("ação", "T", "B", "shortcut"),
        ("x" * 41, "T", "B", "shortcut"),
        ("ok", "  ", "B", "title"),
        ("ok", "T", "   ", "body"),
        ("ok", "T", "x" * 4001, "body"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_saved(agent, greeting, shortcut, title, body, field):
    with pytest.raises(ValidationError) as exc:
        canned.canned_create(agent, category=greeting, shortcut=shortcut, title=title, body=body)
    assert field in exc.value.message_dict
    assert not CannedResponse.objects.exists()


# --- the selector ------------------------------------------------------------------------------


def test_canned_for_returns_own_and_public_personal_first(agent, teammate, supervisor, greeting, billing):
    public_boleto = make(supervisor, billing, "boleto", public=True)
    public_bom = make(supervisor, greeting, "bomdia", public=True)
    my_bom = make(agent, greeting, "bomdia")
    my_other = make(agent, greeting, "abc", title="Boas-vindas")
    make(teammate, greeting, "bonus")  # someone else's: never offered

    assert list(canned.canned_for(agent, "bo")) == [my_other, my_bom, public_boleto, public_bom]
    assert list(canned.canned_for(agent, "/bom")) == [my_bom, public_bom]
    assert list(canned.canned_for(agent, "")) == [my_other, my_bom, public_boleto, public_bom]
    assert list(canned.canned_for(agent, "zzz")) == []


def test_canned_for_is_one_query_whatever_the_size(agent, supervisor, greeting, django_assert_num_queries):
    for n in range(12):
        make(agent, greeting, f"meu{n}")
        make(supervisor, greeting, f"pub{n}", public=True)
    with django_assert_num_queries(1):
        rows = list(canned.canned_for(agent, ""))
        names = [row.category.name for row in rows]
    assert len(names) == 24


# --- the screens -------------------------------------------------------------------------------


@pytest.fixture
def agent_user(agent, queue):
    """``agent`` is an omnichannel agent (assigned to ``queue``)."""
    return agent


def test_pages_require_login(client):
    for url in (reverse("omnichannel:canned_list"), reverse("omnichannel:canned_suggestions")):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_pages_are_refused_to_users_outside_the_workspace(client, db):
    client.force_login(f.UserFactory(username="zeca"))
    assert client.get(reverse("omnichannel:canned_list")).status_code == 403
    assert client.get(reverse("omnichannel:canned_suggestions"), {"q": "a"}).status_code == 403


def test_list_shows_mine_and_public_not_others_and_escapes(
    client, agent_user, teammate, supervisor, greeting, django_assert_max_num_queries
):
    make(agent_user, greeting, "meu", body="<b>negrito</b>")
    make(supervisor, greeting, "pub", public=True)
    make(teammate, greeting, "dele")
    client.force_login(agent_user)
    response = client.get(reverse("omnichannel:canned_list"))
    assert response.status_code == 200
    assert "/meu" in response.text and "/pub" in response.text
    assert "/dele" not in response.text
    assert "&lt;b&gt;negrito&lt;/b&gt;" in response.text
    assert "<b>negrito</b>" not in response.text
    for n in range(10):
        make(agent_user, greeting, f"mais{n}")
        make(supervisor, greeting, f"maispub{n}", public=True)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("omnichannel:canned_list")).status_code == 200


def test_list_filters_by_category_type_and_search(client, agent_user, supervisor, greeting, billing):
    make(agent_user, greeting, "ola")
    make(supervisor, billing, "boleto", public=True, body="Segunda via")
    client.force_login(agent_user)
    url = reverse("omnichannel:canned_list")
    by_category = client.get(url, {"category": billing.pk}).text
    assert "/boleto" in by_category and "/ola" not in by_category
    by_scope = client.get(url, {"scope": "personal"}).text
    assert "/ola" in by_scope and "/boleto" not in by_scope
    by_text = client.get(url, {"q": "segunda"}).text
    assert "/boleto" in by_text and "/ola" not in by_text


def test_list_with_an_unknown_category_is_a_400(client, agent_user):
    client.force_login(agent_user)
    response = client.get(reverse("omnichannel:canned_list"), {"category": "999"})
    assert response.status_code == 400
    assert "Faça uma escolha válida." in response.text


def test_agent_form_has_no_public_toggle_but_supervisor_form_does(client, agent_user, supervisor, queue):
    client.force_login(agent_user)
    assert 'name="public"' not in client.get(reverse("omnichannel:canned_create")).text
    client.force_login(supervisor)
    assert 'name="public"' in client.get(reverse("omnichannel:canned_create")).text


def test_agent_creates_through_the_page_and_public_flag_is_ignored(client, agent_user, greeting):
    client.force_login(agent_user)
    response = client.post(
        reverse("omnichannel:canned_create"),
        {"category": greeting.pk, "shortcut": "ola", "title": "Olá", "body": "Olá!", "public": "on"},
    )
    assert response.status_code == 302
    row = CannedResponse.objects.get()
    assert row.owner == agent_user  # the toggle is not theirs: a forged "public" changes nothing


def test_supervisor_creates_a_public_one_through_the_page(client, supervisor, queue, greeting):
    client.force_login(supervisor)
    response = client.post(
        reverse("omnichannel:canned_create"),
        {"category": greeting.pk, "shortcut": "ola", "title": "Olá", "body": "Olá!", "public": "on"},
    )
    assert response.status_code == 302
    assert CannedResponse.objects.get().owner is None


def test_create_with_bad_input_is_a_400_in_portuguese(client, agent_user, greeting):
    make(agent_user, greeting, "ola")
    client.force_login(agent_user)
    url = reverse("omnichannel:canned_create")
    missing = client.post(url, {"category": "", "shortcut": "", "title": "", "body": ""})
    assert missing.status_code == 400
    assert "Escolha a categoria." in missing.text and "Informe o atalho." in missing.text
    duplicate = client.post(url, {"category": greeting.pk, "shortcut": "ola", "title": "T", "body": "B"})
    assert duplicate.status_code == 400
    assert "Você já tem uma mensagem com o atalho /ola." in duplicate.text
    assert CannedResponse.objects.count() == 1


def test_edit_page_of_a_public_one_is_forbidden_to_an_agent(client, agent_user, supervisor, greeting):
    public = make(supervisor, greeting, "ola", public=True)
    client.force_login(agent_user)
    assert client.get(reverse("omnichannel:canned_edit", args=[public.pk])).status_code == 403
    response = client.post(
        reverse("omnichannel:canned_edit", args=[public.pk]),
        {"category": greeting.pk, "shortcut": "ola", "title": "T", "body": "Mudado"},
    )
    assert response.status_code == 403
    assert client.post(reverse("omnichannel:canned_delete", args=[public.pk])).status_code == 403
    public.refresh_from_db()
    assert public.body == "Texto de ola."


def test_someone_elses_personal_one_is_not_found(client, agent_user, teammate, greeting):
    theirs = make(teammate, greeting, "ola")
    client.force_login(agent_user)
    assert client.get(reverse("omnichannel:canned_edit", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("omnichannel:canned_delete", args=[theirs.pk])).status_code == 404
    assert CannedResponse.objects.filter(pk=theirs.pk).exists()


def test_agent_edits_and_deletes_their_own_through_the_page(client, agent_user, greeting, billing):
    mine = make(agent_user, greeting, "ola")
    client.force_login(agent_user)
    response = client.post(
        reverse("omnichannel:canned_edit", args=[mine.pk]),
        {"category": billing.pk, "shortcut": "oi", "title": "Oi", "body": "Oi, tudo bem?"},
    )
    assert response.status_code == 302
    mine.refresh_from_db()
    assert (mine.shortcut, mine.category, mine.body) == ("oi", billing, "Oi, tudo bem?")
    assert client.get(reverse("omnichannel:canned_delete", args=[mine.pk])).status_code == 405
    assert client.post(reverse("omnichannel:canned_delete", args=[mine.pk])).status_code == 302
    assert not CannedResponse.objects.exists()


def test_suggestions_fragment_lists_matches_escaped(
    client, agent_user, supervisor, greeting, django_assert_max_num_queries
):
    make(agent_user, greeting, "bomdia", body='Bom dia! <script>alert("x")</script>')
    make(supervisor, greeting, "boleto", public=True)
    make(supervisor, greeting, "tchau", public=True)
    client.force_login(agent_user)
    url = reverse("omnichannel:canned_suggestions")
    client.get(url, {"q": "b"})  # warm the session and role caches
    with django_assert_max_num_queries(5):
        response = client.get(url, {"q": "bo"})
    assert response.status_code == 200
    assert 'role="listbox"' in response.text
    assert response.text.count('role="option"') == 2
    assert response.text.index("/bomdia") < response.text.index("/boleto")  # personal first
    assert "/tchau" not in response.text
    assert "<script>" not in response.text
    assert "&lt;script&gt;" in response.text


def test_suggestions_with_no_match_and_too_long_query(client, agent_user):
    client.force_login(agent_user)
    url = reverse("omnichannel:canned_suggestions")
    empty = client.get(url, {"q": "nada"})
    assert empty.status_code == 200
    assert "Nenhuma mensagem pré-salva" in empty.text
    assert client.get(url, {"q": "x" * 200}).status_code == 400


def test_demo_rows_are_created_once(db):
    from omnichannel import demo

    f.SupervisorFactory(username="supervisor")
    f.AgentFactory(username="agente")
    demo.create_canned_responses()
    demo.create_canned_responses()
    assert CannedResponse.objects.filter(owner__isnull=True).count() == len(demo.CANNED_PUBLIC)
    assert CannedResponse.objects.filter(owner__username="agente").count() == len(demo.CANNED_PERSONAL)
    assert CannedCategory.objects.count() == len(demo.CANNED_CATEGORIES)
