"""Channel adapters: one module per provider, each with ``handle(request, account)`` for its
webhook (``omnichannel.webhooks``), ``send(account, message)`` and ``configured(account)``
for its outbound sender (``omnichannel.outbound``)."""

PROVIDERS = {
    "whatsapp": "omnichannel.providers.whatsapp",
    "telegram": "omnichannel.providers.telegram",
    "facebook": "omnichannel.providers.meta",
    "instagram": "omnichannel.providers.meta",
    "email": "omnichannel.providers.email",
}


def provider_module(channel: str):
    """The adapter module of a channel, or None (live chat and voice have no sender)."""
    from importlib import import_module

    path = PROVIDERS.get(channel)
    if path is None:
        return None
    try:
        return import_module(path)
    except ModuleNotFoundError:
        return None
