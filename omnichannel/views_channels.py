"""Provider-channel actions of the workspace: an approved WhatsApp template ("modelo"),
the only message allowed outside WhatsApp's 24-hour customer-service window."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from omnichannel import forms, services
from omnichannel.views import _apply_errors, _form_error, _pane_response, _status
from omnichannel.views_live import access_conversation


@require_POST
def send_template(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = access_conversation(request.user, pk)
    try:
        services.conversation_send_template(
            actor=request.user,
            conversation=conversation,
            template=request.POST.get("template", ""),
            language=request.POST.get("language", "pt_BR"),
        )
    except (ValidationError, PermissionDenied) as exc:
        form = forms.MessageForm(data={"body": ""})
        form.is_valid()
        form.errors.clear()  # only the template's refusal is shown
        _apply_errors(form, exc)
        return _form_error(request, "composer", conversation, form, _status(exc))
    return _pane_response(request, conversation)
