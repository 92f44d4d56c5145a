/*-------------------------------------------------------------------------
 *
 * fresh.c
 *		Measuring tools for the freshness suite (test/t/015_freshness.pl)
 *		and the bench: the ground truth, the server-side figures, and a
 *		router built on replroute.is_routable() the way HAProxy checks are.
 *		Plain libpq; every line it writes starts with a time in
 *		microseconds since the epoch, from the server's clock_timestamp()
 *		(all nodes of a test share one clock).
 *
 * Usage:
 *	fresh sample OUT INTERVAL_US SECS NAME=CONNINFO...
 *		every INTERVAL_US, each node:  "NAME T p|s LSN RECV"
 *		(p: WAL flushed on a primary; s: WAL replayed on a standby, and
 *		received or "-").  Nodes that fail are reconnected every 20 ms.
 *	fresh ext OUT INTERVAL_US SECS CONNINFO
 *		a standby's own figures:  "T WAL_LSN LAG_SECONDS NAIVE PGDOG ROUTABLE"
 *		(NULL as "-"; NAIVE is now() - pg_last_xact_replay_timestamp(),
 *		PGDOG is 0 when the received and replayed positions are equal, else
 *		NAIVE, as PgDog documents its check)
 *	fresh plainwrite OUT DELAY_US SECS TABLE CONNINFO
 *		plain libpq, as an application without replroute writes: an INSERT
 *		of the next id every DELAY_US, reconnecting (once per attempt) after
 *		a failure:  "T ok|fail ID"  (T: this machine's wall clock)
 *	fresh haproxy OUT CHECK_US READ_US SECS STANDBY PRIMARY
 *		a router that asks is_routable() on the standby every CHECK_US and
 *		reads every READ_US from the standby while the last answer was true,
 *		else from the primary:  "T LSN s|p"  (LSN: the serving node's
 *		replay position, "-" on a primary)
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#define EPOCH_US	"(extract(epoch FROM clock_timestamp()) * 1000000)::bigint"

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
sleep_until(int64_t t)
{
	int64_t		now = mono_us();
	struct timespec ts;

	if (t <= now)
		return;
	ts.tv_sec = (t - now) / 1000000;
	ts.tv_nsec = ((t - now) % 1000000) * 1000;
	nanosleep(&ts, NULL);
}

/* A connection that is reopened (at most every 20 ms) when it fails. */
typedef struct pglink
{
	const char *name;
	const char *conninfo;
	PGconn	   *conn;
	int64_t		retry_at;
} pglink;

static PGresult *
run(pglink *l, const char *sql)
{
	PGresult   *res;

	if (l->conn == NULL || PQstatus(l->conn) != CONNECTION_OK)
	{
		if (mono_us() < l->retry_at)
			return NULL;
		PQfinish(l->conn);
		l->conn = PQconnectdb(l->conninfo);
		if (PQstatus(l->conn) != CONNECTION_OK)
		{
			l->retry_at = mono_us() + 20000;
			return NULL;
		}
		PQclear(PQexec(l->conn, "SET statement_timeout = '2s'"));
	}
	res = PQexec(l->conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
	{
		PQclear(res);
		if (PQstatus(l->conn) != CONNECTION_OK)
			l->retry_at = mono_us() + 20000;
		return NULL;
	}
	return res;
}

static const char *
val(const PGresult *res, int col)
{
	return PQgetisnull(res, 0, col) ? "-" : PQgetvalue(res, 0, col);
}

static FILE *
open_out(const char *path)
{
	FILE	   *out = fopen(path, "w");

	if (out == NULL)
	{
		perror(path);
		exit(2);
	}
	return out;
}

static int
cmd_sample(int argc, char **argv)
{
	FILE	   *out = open_out(argv[0]);
	int64_t		interval = atoll(argv[1]);
	int64_t		end = mono_us() + (int64_t) (atof(argv[2]) * 1e6);
	int			n = argc - 3,
				i;
	pglink	   *links = calloc((size_t) n, sizeof(pglink));
	int64_t		next = mono_us();

	for (i = 0; i < n; i++)
	{
		char	   *eq = strchr(argv[3 + i], '=');

		if (eq == NULL)
			return 2;
		*eq = '\0';
		links[i].name = argv[3 + i];
		links[i].conninfo = eq + 1;
	}
	while (mono_us() < end)
	{
		for (i = 0; i < n; i++)
		{
			PGresult   *res = run(&links[i],
								  "SELECT " EPOCH_US ", pg_is_in_recovery(), "
								  "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
								  "ELSE pg_current_wal_flush_lsn() END, pg_last_wal_receive_lsn()");

			if (res == NULL)
				continue;
			fprintf(out, "%s %s %s %s %s\n", links[i].name, val(res, 0),
					strcmp(val(res, 1), "t") == 0 ? "s" : "p", val(res, 2), val(res, 3));
			PQclear(res);
		}
		fflush(out);
		next += interval;
		sleep_until(next);
	}
	fclose(out);
	return 0;
}

static int
cmd_ext(char **argv)
{
	FILE	   *out = open_out(argv[0]);
	int64_t		interval = atoll(argv[1]);
	int64_t		end = mono_us() + (int64_t) (atof(argv[2]) * 1e6);
	pglink		l = {"ext", argv[3], NULL, 0};
	int64_t		next = mono_us();

	while (mono_us() < end)
	{
		PGresult   *res = run(&l,
							  "SELECT " EPOCH_US ", n.wal_lsn, n.lag_seconds, "
							  "extract(epoch FROM now() - pg_last_xact_replay_timestamp()), "
							  "CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
							  "ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END, "
							  "replroute.is_routable() "
							  "FROM replroute.node_status() n");

		if (res != NULL)
		{
			fprintf(out, "%s %s %s %s %s %s\n", val(res, 0), val(res, 1), val(res, 2),
					val(res, 3), val(res, 4), val(res, 5));
			fflush(out);
			PQclear(res);
		}
		next += interval;
		sleep_until(next);
	}
	fclose(out);
	return 0;
}

static int64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
cmd_plainwrite(char **argv)
{
	FILE	   *out = open_out(argv[0]);
	int64_t		delay = atoll(argv[1]);
	int64_t		end = mono_us() + (int64_t) (atof(argv[2]) * 1e6);
	const char *table = argv[3];
	PGconn	   *conn = NULL;
	long		id = 0;
	char		sql[256];

	while (mono_us() < end)
	{
		PGresult   *res;
		bool		ok;

		if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
		{
			PQfinish(conn);
			conn = PQconnectdb(argv[4]);
		}
		snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (%ld)", table, ++id);
		res = PQexec(conn, sql);
		ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		PQclear(res);
		fprintf(out, "%lld %s %ld\n", (long long) wall_us(), ok ? "ok" : "fail", id);
		fflush(out);
		sleep_until(mono_us() + delay);
	}
	PQfinish(conn);
	fclose(out);
	return 0;
}

static int
cmd_haproxy(char **argv)
{
	FILE	   *out = open_out(argv[0]);
	int64_t		check_every = atoll(argv[1]);
	int64_t		read_every = atoll(argv[2]);
	int64_t		end = mono_us() + (int64_t) (atof(argv[3]) * 1e6);
	pglink		check = {"check", argv[4], NULL, 0};
	pglink		standby = {"standby", argv[4], NULL, 0};
	pglink		primary = {"primary", argv[5], NULL, 0};
	bool		up = false;
	int64_t		next_check = mono_us();
	int64_t		next_read = mono_us();

	while (mono_us() < end)
	{
		if (mono_us() >= next_check)
		{
			PGresult   *res = run(&check, "SELECT replroute.is_routable()");

			up = res != NULL && strcmp(val(res, 0), "t") == 0;
			PQclear(res);
			next_check += check_every;
		}
		if (mono_us() >= next_read)
		{
			pglink	   *l = up ? &standby : &primary;
			PGresult   *res = run(l, "SELECT " EPOCH_US ", pg_last_wal_replay_lsn()");

			if (res != NULL)
			{
				fprintf(out, "%s %s %s\n", val(res, 0), val(res, 1), up ? "s" : "p");
				fflush(out);
				PQclear(res);
			}
			next_read += read_every;
		}
		sleep_until(next_check < next_read ? next_check : next_read);
	}
	fclose(out);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 6 && strcmp(argv[1], "sample") == 0)
		return cmd_sample(argc - 2, argv + 2);
	if (argc == 6 && strcmp(argv[1], "ext") == 0)
		return cmd_ext(argv + 2);
	if (argc == 7 && strcmp(argv[1], "plainwrite") == 0)
		return cmd_plainwrite(argv + 2);
	if (argc == 8 && strcmp(argv[1], "haproxy") == 0)
		return cmd_haproxy(argv + 2);
	fprintf(stderr, "usage: fresh sample|ext|plainwrite|haproxy ... (see fresh.c)\n");
	return 2;
}
