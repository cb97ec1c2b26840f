"""The guide's Django view."""

import json

from django.http import HttpRequest, JsonResponse

from kimberlite import DataClass

from . import settings


def my_view(request: HttpRequest) -> JsonResponse:
    client = settings.get_kimberlite_client()
    # Use client...
    body = json.loads(request.body or b"{}")
    stream_id = client.create_stream(body.get("stream", "django-events"), DataClass.NON_PHI)
    offset = client.append(stream_id, [e.encode("utf-8") for e in body.get("events", ["hello"])])
    return JsonResponse({"stream_id": stream_id, "offset": offset})
