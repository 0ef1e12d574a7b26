"""Channel accounts in Django admin: secrets are write-only and never shown back in full;
the workspace's template action refuses bad input with 4xx."""

import pytest
from django.urls import reverse

from omnichannel.admin import mask_secret
from omnichannel.models import ChannelAccount, Conversation, Message, MessageKind
from tests.omnichannel.conftest import go_online
from tests.providers.fake import whatsapp_message
from tests.providers.test_whatsapp import WA_ID, post


@pytest.fixture
def admin_client(client, admin_user):
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    return client


def test_mask_keeps_at_most_the_last_four():
    assert mask_secret("") == ""
    assert mask_secret("short") == "••••••••"
    assert mask_secret("EAAG-0123456789-abcd") == "••••••••abcd"


def test_change_page_never_shows_secrets(admin_client, wa_account):
    page = admin_client.get(reverse("admin:omnichannel_channelaccount_change", args=[wa_account.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    for secret in ("EAAG-test-token", "app-secret-ç", "verifica-123"):
        assert secret not in html
    assert str(wa_account.key) in html  # the webhook address is shown


def _form_data(account, **overrides):
    data = {
        "name": account.name, "channel": account.channel, "active": "on", "external_id": account.external_id,
        "queue": account.queue_id, "entry_menu": "", "api_base_url": account.api_base_url,
        "access_token": "", "app_secret": "", "verify_token": "", "webhook_secret": "",
        "email_address": "", "imap_host": "", "imap_port": 993, "imap_user": "", "imap_password": "",
        "imap_folder": "INBOX", "smtp_host": "", "smtp_port": 587, "smtp_security": "starttls", "smtp_user": "",
        "smtp_password": "",
    }
    data.update(overrides)
    return data


def test_empty_secret_keeps_the_stored_one_and_apagar_clears(admin_client, wa_account):
    url = reverse("admin:omnichannel_channelaccount_change", args=[wa_account.pk])
    response = admin_client.post(url, _form_data(wa_account, app_secret="novo-segredo", verify_token="apagar"))
    assert response.status_code == 302, response.content.decode()[:2000]
    wa_account.refresh_from_db()
    assert wa_account.access_token == "EAAG-test-token"  # left empty: kept
    assert wa_account.app_secret == "novo-segredo"
    assert wa_account.verify_token == ""


def test_admin_lists_accounts_with_credentials_flag(admin_client, wa_account):
    ChannelAccount.objects.create(name="Sem token", channel="telegram")
    page = admin_client.get(reverse("admin:omnichannel_channelaccount_changelist"))
    assert page.status_code == 200
    assert "Sem token" in page.content.decode()


def test_template_view_refuses_bad_names_and_outsiders(client, wa_account, agent, outsider, django_capture_on_commit_callbacks):
    go_online(agent)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, wa_account, whatsapp_message(WA_ID, "oi", msg_id="wamid.TV1"))
    conversation = Conversation.objects.get()
    url = reverse("omnichannel:send_template", args=[conversation.pk])
    client.force_login(agent)
    bad = client.post(url, {"template": "Nome Inválido!", "language": "pt_BR"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and "modelo" in bad.content.decode()
    assert not Message.objects.filter(kind=MessageKind.AGENT).exists()
    client.force_login(outsider)
    assert client.post(url, {"template": "ok_nome"}, HTTP_HX_REQUEST="true").status_code == 404
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=True):
        ok = client.post(url, {"template": "retomar", "language": "pt_BR"}, HTTP_HX_REQUEST="true")
    assert ok.status_code == 200
    assert Message.objects.get(kind=MessageKind.AGENT).data["template"]["name"] == "retomar"
