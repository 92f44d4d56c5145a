"""A JSON API over notes.  No view says where its queries go: the router
and the middleware do.  Each answer says which alias served its read
("default" is the primary)."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .models import Note


def _answer(note, wrote=None):
    data = {"id": note.pk, "text": note.text, "read_from": note._state.db}
    if wrote is not None:
        data["wrote"] = wrote
    return JsonResponse(data)


@csrf_exempt
def notes(request):
    """GET: the newest notes.  POST text=...: a new note, read back at once
    (read-your-writes within the request)."""
    if request.method == "POST":
        pk = Note.objects.create(text=request.POST["text"]).pk
        return _answer(Note.objects.get(pk=pk), wrote=request.POST["text"])
    latest = list(Note.objects.order_by("-pk")[:20])
    return JsonResponse({"notes": [{"id": n.pk, "text": n.text} for n in latest],
                         "read_from": latest[0]._state.db if latest else None})


@csrf_exempt
def note(request, pk):
    """GET: one note.  POST text=...: change it, and read it back."""
    wrote = None
    if request.method == "POST":
        wrote = request.POST["text"]
        Note.objects.filter(pk=pk).update(text=wrote)
    try:
        return _answer(Note.objects.get(pk=pk), wrote=wrote)
    except Note.DoesNotExist:
        return JsonResponse({"error": "no such note"}, status=404)
