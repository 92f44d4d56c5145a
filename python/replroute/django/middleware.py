"""replroute.django.SessionTokenMiddleware: read-your-writes across
requests.

A request starts with the token it was given (from Django's session, or
from a signed cookie: an unsigned or forged one is ignored, since it could
push every read to the primary).  After a request that wrote, the token is
the primary's WAL insert position read after the commit
(pg_current_wal_insert_lsn()), and goes back to the session or the cookie.
Reads in this request after its writes, and in later requests with the
token, see those writes: the router sends them to a standby known to have
replayed the token, or waits up to causal_wait on one, or uses the primary.

Settings (all optional), in settings.REPLROUTE:
  TOKEN_STORE      'auto' (default: the session when the request has one,
                   else the cookie), 'session' or 'cookie'
  COOKIE_NAME      default 'replroute_token'
  COOKIE_MAX_AGE   seconds, default None (a browser-session cookie)

Place it after django.contrib.sessions.middleware.SessionMiddleware (so it
runs inside it and the session is saved after it).
"""

import logging

from django.conf import settings
from django.core import signing

from .runtime import DEFAULT, State, _state, runtime

log = logging.getLogger("replroute")

SESSION_KEY = "_replroute_token"
SALT = "replroute.django.SessionTokenMiddleware"


def _config():
    rr = getattr(settings, "REPLROUTE", {}) or {}
    store = rr.get("TOKEN_STORE", "auto")
    if store not in ("auto", "session", "cookie"):
        raise ValueError("REPLROUTE['TOKEN_STORE'] must be 'auto', 'session' or 'cookie'")
    return store, rr.get("COOKIE_NAME", "replroute_token"), rr.get("COOKIE_MAX_AGE")


class SessionTokenMiddleware:
    """See the module docstring."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        store, cookie, max_age = _config()
        st = State()
        incoming = self._incoming(request, store, cookie, st)
        reset = _state.set(st)
        try:
            response = self.get_response(request)
            if st.dirty:
                # after the view (and ATOMIC_REQUESTS' commit)
                runtime().fetch_token(st)
            if st.token and st.token != incoming:
                self._store(request, response, store, cookie, max_age, st.token)
        finally:
            _state.reset(reset)
        return response

    @staticmethod
    def _use_session(request, store):
        return store == "session" or (store == "auto" and hasattr(request, "session"))

    def _incoming(self, request, store, cookie, st):
        if self._use_session(request, store):
            session = getattr(request, "session", None)
            token = session.get(SESSION_KEY, "") if session is not None else ""
        else:
            try:
                token = request.get_signed_cookie(cookie, default="", salt=SALT)
            except signing.BadSignature:
                token = ""
        if token and not st.raise_token(token):
            log.info("replroute: ignoring a malformed session token")
            return ""
        return st.token

    def _store(self, request, response, store, cookie, max_age, token):
        if self._use_session(request, store):
            if not hasattr(request, "session"):
                raise RuntimeError("replroute: TOKEN_STORE is 'session' but the request has no "
                                   "session: add SessionMiddleware before SessionTokenMiddleware")
            request.session[SESSION_KEY] = token
        else:
            response.set_signed_cookie(cookie, token, salt=SALT, max_age=max_age,
                                       httponly=True, samesite="Lax",
                                       secure=request.is_secure())
