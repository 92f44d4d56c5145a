"""replroute.django.ReplrouteRouter: a Django database router over
libreplroute's routing decision.

- Reads go to the read alias of the node the library picks for this
  request's token (a standby known to have replayed it; or one that the
  CALL replroute.wait_for_lsn(token, causal_wait) has just shown to have
  it; else the primary, that is 'default').  Reads inside atomic() or a
  manual transaction on 'default' stay there, and so do reads of the apps
  in REPLROUTE["PRIMARY_APPS"] (default: the sessions app, which carries
  the token).
- Writes go to 'default'.  A 'default' connection that died, or that is
  open to another node than the library's primary (the old primary after a
  promotion), is closed first, so that Django reconnects and libpq, with
  target_session_attrs=read-write and the library's primary listed first,
  reaches the new primary: no settings change, no restart.
- Migrations run on 'default' only; the read aliases get them by
  replication.  Objects of any of the cluster's aliases may be related.

No method waits on a node that does not answer: the library never picks
one (see replroute.django.runtime).
"""

from .runtime import DEFAULT, runtime


class ReplrouteRouter:
    """The router for DATABASES built by replroute.django.databases()."""

    def db_for_read(self, model, **hints):
        return runtime().read_alias(model)

    def db_for_write(self, model, **hints):
        return runtime().write_alias()

    def allow_relation(self, obj1, obj2, **hints):
        aliases = runtime().all_aliases
        if obj1._state.db in aliases and obj2._state.db in aliases:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db == DEFAULT:
            return True
        if db in runtime().all_aliases:
            return False
        return None
