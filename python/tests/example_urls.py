"""The example's URLs, and test views: a slow read (to kill its node
mid-request) and the server that answers a plain read."""

from django.db import connections, router
from django.http import JsonResponse
from django.urls import path

from mysite.urls import urlpatterns as example_urls
from notes.models import Note


def slow(request):
    """A read that takes ?seconds=S on the node the router picks; says
    which alias was picked and which server's port answered."""
    alias = router.db_for_read(Note)
    with connections[alias].cursor() as cur:
        cur.execute("SELECT pg_sleep(%s), inet_server_port()", [float(request.GET["seconds"])])
        port = cur.fetchone()[1]
    return JsonResponse({"routed": alias, "port": port})


def read_port(request):
    """One ORM read and the port of the server its alias is connected to."""
    notes = list(Note.objects.order_by("-pk")[:1])
    alias = notes[0]._state.db if notes else router.db_for_read(Note)
    conn = connections[alias].connection
    return JsonResponse({"read_from": alias, "port": conn.info.port if conn else None})


urlpatterns = example_urls + [path("test/slow/", slow), path("test/read/", read_port)]
