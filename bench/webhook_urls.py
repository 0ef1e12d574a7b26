"""The product's URLs plus the benchmark's reference: a bare Django view returning 200."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from servicedesk.urls import urlpatterns as product


@login_not_required
@csrf_exempt
def bare(request):
    return HttpResponse(b'{"ok": true}', content_type="application/json")


urlpatterns = [path("bench/bare/", bare), *product]
