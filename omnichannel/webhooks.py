"""The public webhook endpoint of every provider channel: ``/webhooks/<channel>/<key>/``.

The account is found by the random key in the address; the provider module checks the
signature on the raw body before parsing anything. A bad signature answers 403 and stores
nothing; a malformed payload 400; an event type we do not handle 200 (so the provider does
not retry it forever); never a 500 for what a caller sends.
"""

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from omnichannel.models import ChannelAccount
from omnichannel.providers import provider_module
from omnichannel.providers.base import BadPayload, bad_request

logger = logging.getLogger(__name__)


@login_not_required
@csrf_exempt
def webhook(request: HttpRequest, channel: str, key) -> HttpResponse:
    if request.method not in ("GET", "POST"):
        return bad_request(_("Método não permitido."), status=405)
    account = ChannelAccount.objects.filter(key=key, channel=channel, active=True).select_related(
        "queue", "entry_menu"
    ).first()
    provider = provider_module(channel)
    if account is None or provider is None or not hasattr(provider, "handle"):
        return bad_request(_("Conta de canal desconhecida."), status=404)
    length = request.headers.get("Content-Length", "0")
    if length.isdigit() and int(length) > settings.CHANNEL_WEBHOOK_MAX_BYTES:
        return bad_request(_("Corpo grande demais."), status=413)
    try:
        # All or nothing: a payload that turns out malformed half-way stores nothing.
        with transaction.atomic():
            return provider.handle(request, account)
    except BadPayload as exc:
        return bad_request(str(exc))
    except ValidationError as exc:
        return bad_request("; ".join(exc.messages))
