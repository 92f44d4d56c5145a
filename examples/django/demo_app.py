#!/usr/bin/env python3
"""Django reads routed by replroute_router.ReplrouteRouter.

A self-contained script: Django is configured in code (no project, no
migrations), with three databases, 'default' (the primary), 'replica1' and
'replica2'.  Each read is an ordinary ORM query, inside a simulated request
(Django's request_started/request_finished signals, so connections are
handled as in a web process), on an unmanaged model over the pg_settings
view; it asks for the server's port, which tells which server answered:

    python3 demo_app.py --primary 127.0.0.1:5432 \\
        --replica 127.0.0.1:5433 --replica 127.0.0.1:5434 --reads 10

The servers come from the options, else from REPLROUTE_PRIMARY and
REPLROUTE_REPLICAS (comma-separated HOST:PORT); user and password from the
usual PGUSER / PGPASSWORD / ~/.pgpass.  Each server needs CREATE EXTENSION
replroute (run once on the primary).

With --commands it reads commands from stdin instead, one answer line each
(used by test/t/050_django.pl):

    reads N            ports P1 P2 ... PN
    atomic             port P   (a read inside transaction.atomic() on the
                                 primary)
    wait ALIAS MS      status S (replroute.wait_for_lsn on ALIAS for the
                                 primary's current position)
    quit
"""

import argparse
import logging
import os
import sys

import django
from django.conf import settings


def parse_args():
    env_replicas = os.environ.get('REPLROUTE_REPLICAS', '')
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--primary',
                   default=os.environ.get('REPLROUTE_PRIMARY',
                                          '127.0.0.1:5432'),
                   help='HOST:PORT of the primary')
    p.add_argument('--replica', action='append',
                   help='HOST:PORT of a replica (repeat)')
    p.add_argument('--dbname', default=os.environ.get('PGDATABASE',
                                                      'postgres'))
    p.add_argument('--user', default=os.environ.get('PGUSER', ''))
    p.add_argument('--reads', type=int, default=10)
    p.add_argument('--max-lag-bytes', type=int, default=None)
    p.add_argument('--max-lag-seconds', type=float, default=None)
    p.add_argument('--check-interval', type=float, default=0.1)
    p.add_argument('--retry-interval', type=float, default=1.0)
    p.add_argument('--commands', action='store_true',
                   help='read commands from stdin')
    p.add_argument('-v', '--verbose', action='count', default=0)
    args = p.parse_args()
    if args.replica is None:
        args.replica = [r for r in env_replicas.split(',') if r]
    if not args.replica:
        p.error('no replica: use --replica or REPLROUTE_REPLICAS')
    return args


def database(hostport, dbname, user):
    host, _, port = hostport.rpartition(':')
    return {
        'ENGINE': 'django.db.backends.postgresql',
        'HOST': host,
        'PORT': port,
        'NAME': dbname,
        'USER': user,
        'OPTIONS': {'connect_timeout': 2},
    }


def configure(args):
    databases = {'default': database(args.primary, args.dbname, args.user)}
    for i, hostport in enumerate(args.replica, 1):
        databases['replica%d' % i] = database(hostport, args.dbname,
                                              args.user)
    settings.configure(
        DATABASES=databases,
        DATABASE_ROUTERS=['replroute_router.ReplrouteRouter'],
        REPLROUTE={
            'PRIMARY': 'default',
            'REPLICAS': [a for a in databases if a != 'default'],
            'MAX_LAG_BYTES': args.max_lag_bytes,
            'MAX_LAG_SECONDS': args.max_lag_seconds,
            'CHECK_INTERVAL': args.check_interval,
            'RETRY_INTERVAL': args.retry_interval,
        },
        INSTALLED_APPS=[],
        USE_TZ=True,
    )
    django.setup()


def main():
    args = parse_args()
    logging.basicConfig(
        stream=sys.stderr, format='%(name)s: %(levelname)s: %(message)s',
        level=[logging.WARNING, logging.INFO, logging.DEBUG][
            min(args.verbose, 2)])
    configure(args)

    # Django must be set up before a model is defined.
    from django.core.signals import request_finished, request_started
    from django.db import models, transaction

    from replroute_router import primary_lsn, wait_for_lsn

    class PgSetting(models.Model):
        """pg_settings, read-only: on no account migrated."""
        name = models.TextField(primary_key=True)
        setting = models.TextField()

        class Meta:
            app_label = 'replroute_demo'
            db_table = 'pg_settings'
            managed = False

    def server_port():
        return PgSetting.objects.get(name='port').setting

    def request(func, *fargs):
        """func(*fargs) as Django runs a view: between the two signals."""
        request_started.send(sender=None)
        try:
            return func(*fargs)
        finally:
            request_finished.send(sender=None)

    def atomic_read():
        with transaction.atomic(using='default'):
            return server_port()

    def wait(alias, timeout_ms):
        return wait_for_lsn(alias, primary_lsn('default'), int(timeout_ms))

    names = {settings.DATABASES[a]['PORT']: a for a in settings.DATABASES}

    if not args.commands:
        for i in range(1, args.reads + 1):
            port = request(server_port)
            print('read %d: port %s (%s)' % (i, port, names.get(port, '?')))
        return 0

    for line in sys.stdin:
        cmd = line.split()
        try:
            if not cmd:
                continue
            if cmd[0] == 'quit':
                break
            if cmd[0] == 'reads':
                answer = 'ports ' + ' '.join(
                    request(server_port) for _ in range(int(cmd[1])))
            elif cmd[0] == 'atomic':
                answer = 'port ' + request(atomic_read)
            elif cmd[0] == 'wait':
                answer = 'status ' + request(wait, cmd[1], cmd[2])
            else:
                answer = 'error unknown command %r' % cmd[0]
        except Exception as exc:
            answer = 'error %s: %s' % (type(exc).__name__,
                                       ' '.join(str(exc).split()))
        print(answer, flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
