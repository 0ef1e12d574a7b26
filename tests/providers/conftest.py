"""Provider-channel fixtures: a queue per channel with ``agent`` Online in it, and the fake
providers (real HTTP servers on 127.0.0.1) the accounts point at."""

import pytest

from omnichannel.models import Channel, ChannelAccount
from tests.omnichannel.conftest import go_online, make_queue  # noqa: F401 - shared helpers
from tests.providers import fake as fakes


@pytest.fixture(autouse=True)
def _provider_settings(settings):
    settings.CHANNEL_SEND_RETRY_BASE_SECONDS = 0
    settings.CHANNEL_HTTP_TIMEOUT = 2


@pytest.fixture(autouse=True)
def _quiet_publish(published):
    return published


@pytest.fixture
def wa_fake():
    fake = fakes.whatsapp_fake()
    yield fake
    fake.stop()


@pytest.fixture
def wa_queue(team, company, process):
    return make_queue(team, company, process, name="Suporte - WhatsApp", channel=Channel.WHATSAPP, max_conversations=5)


@pytest.fixture
def wa_account(wa_queue, wa_fake):
    return ChannelAccount.objects.create(
        name="WhatsApp Suporte",
        channel=Channel.WHATSAPP,
        external_id="1000",
        queue=wa_queue,
        api_base_url=wa_fake.url,
        access_token="EAAG-test-token",
        app_secret="app-secret-ç",
        verify_token="verifica-123",
    )
