"""Files of a conversation's messages, for staff: downloaded only by who may see the conversation.

Never served from MEDIA_URL: the check is ``access_conversation`` (the holder,
the agent it is allocated to, a supervisor of its queue); anyone else gets 404.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from omnichannel.models import MessageAttachment
from omnichannel.views_live import access_conversation


@require_GET
def message_file(request: HttpRequest, pk: int) -> HttpResponse:
    """Download one message file; always an opaque download, whatever type the uploader claimed."""
    attachment = MessageAttachment.objects.select_related("message").filter(pk=pk).first()
    if attachment is None:
        raise Http404
    access_conversation(request.user, attachment.message.conversation_id)
    try:
        with attachment.file.open("rb") as handle:
            content = handle.read()  # at most 2 MB (services.MAX_FILE_BYTES)
    except FileNotFoundError:
        raise Http404 from None
    response = HttpResponse(content, content_type="application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(True, attachment.name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
