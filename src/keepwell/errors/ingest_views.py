"""The Sentry ingestion endpoints as Django views: POST (and CORS preflight) /api/<project_id>/envelope|store/.

Under uvicorn the ASGI fast path (ingest_asgi) answers these before Django; these views serve WSGI, the test
client, and whatever the fast path hands on. The body is read in chunks through the caps, never all at once.
"""

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from keepwell.core import clientip

from . import ingest
from .ingest_body import BodyTooLarge, BodyUnreadable

CHUNK = 64 * 1024


def _response(answer: ingest.Answer) -> HttpResponse:
    response = HttpResponse(answer.content(), status=answer.status, content_type="application/json")
    for name, value in {**ingest.CORS_HEADERS, **answer.headers}.items():
        response[name] = value
    return response


def _handle(request, project_id: int, endpoint: str) -> HttpResponse:
    if request.method == "OPTIONS":
        return _response(ingest.Answer(200, {}))
    if request.method != "POST":
        answer = ingest.Answer(405, {"detail": f"Send events with POST to /api/{project_id}/{endpoint}/."})
        response = _response(answer)
        response["Allow"] = "POST, OPTIONS"
        return response
    try:
        public_key = ingest.key_from_request(
            {
                "x-sentry-auth": request.headers.get("X-Sentry-Auth"),
                "authorization": request.headers.get("Authorization", ""),
            },
            request.META.get("QUERY_STRING", ""),
        )
        # Refuse a wrong key and a too-large declared body before reading any of it.
        dsn = ingest.authenticate(project_id, public_key) if public_key else None
        decoder = ingest.decoder(
            request.headers.get("Content-Encoding"), request.headers.get("Content-Length")
        )
        try:
            while chunk := request.read(CHUNK):
                decoder.feed(chunk)
            body = decoder.finish()
        except BodyTooLarge as exc:
            raise ingest.Refused(413, str(exc)) from None
        except BodyUnreadable as exc:
            raise ingest.Refused(400, str(exc)) from None
        answer = ingest.accept(
            project_id, endpoint, body, public_key, ingest.client_ip(clientip.from_request(request)), dsn=dsn
        )
    except ingest.Refused as refused:
        answer = refused.answer
    return _response(answer)


@csrf_exempt
def envelope(request, project_id: int):
    """Accept a Sentry envelope."""
    return _handle(request, project_id, "envelope")


@csrf_exempt
def store(request, project_id: int):
    """Accept a Sentry event (the older store protocol); it is spooled as an envelope."""
    return _handle(request, project_id, "store")
