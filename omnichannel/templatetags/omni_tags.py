"""The omnichannel pieces every page's top bar carries (presence control, workspace link)."""

import re

from django import template
from django.template.loader import render_to_string

from omnichannel import views_live

register = template.Library()

CHANNEL_ICONS = {
    "live_chat": "bi-chat-dots",
    "whatsapp": "bi-whatsapp",
    "telegram": "bi-telegram",
    "facebook": "bi-facebook",
    "instagram": "bi-instagram",
    "email": "bi-envelope",
    "sms": "bi-phone",
    "voice": "bi-telephone",
}


@register.filter
def channel_icon(channel: str) -> str:
    return CHANNEL_ICONS.get(channel, "bi-chat")


def _flags(context: template.Context) -> dict[str, bool]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"agent": False, "workspace": False}
    cached = getattr(request, "_omni_nav", None)
    if cached is None:
        # A supervisor needs no query (their groups are loaded for the bar already).
        supervisor = views_live.is_supervisor(user)
        agent = views_live.nav_is_omni_agent(request)
        cached = request._omni_nav = {"agent": agent, "workspace": supervisor or agent}
    return cached


@register.simple_tag(takes_context=True)
def omni_nav(context: template.Context) -> dict[str, bool]:
    """``{% omni_nav as omni %}``: ``omni.agent`` (an agent of some queue), ``omni.workspace`` (may open it)."""
    return _flags(context)


@register.simple_tag(takes_context=True)
def omni_presence_bar(context: template.Context) -> str:
    """The status control ("Alterar/Encerrar Omnichannel") for an agent; nothing for anyone else."""
    if not _flags(context)["agent"]:
        return ""
    request = context["request"]
    # render_to_string answers a SafeString: the template escaped what it had to.
    return render_to_string("omnichannel/_presence.html#bar", views_live.presence_context(request.user), request=request)


_HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")


@register.filter
def tag_style(tag) -> str:
    """Inline colours of a tag chip: its colour (only a valid hex, never raw text) and a readable text colour."""
    color = tag.color if isinstance(tag.color, str) and _HEX_COLOR.match(tag.color) else "#6c757d"
    digits = color[1:] if len(color) == 7 else "".join(c * 2 for c in color[1:])
    r, g, b = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    text = "#212529" if (0.299 * r + 0.587 * g + 0.114 * b) > 150 else "#ffffff"
    return f"background-color: {color}; color: {text};"


@register.simple_tag(takes_context=True)
def email_filter_badge(context) -> str:
    """The menu's count of e-mails waiting in the filter, rendered with the page (one COUNT).

    Rendered inline rather than fetched after load: a second request at every page load
    raced the page's own requests (and doubled the requests of every supervisor page).
    """
    from omnichannel.email_filter import pending_count

    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    return render_to_string("omnichannel/email_filter/_count.html", {"pending": pending_count(user)})
