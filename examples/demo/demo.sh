#!/bin/sh
#
# demo.sh: replroute on a throwaway cluster (what "make demo" runs).
#
# Builds a primary and two streaming standbys on free loopback ports in a
# temporary directory, the way one does it by hand (initdb, a replication
# role and slots, pg_basebackup, standby.signal), then lets an application
# (traffic.c: one RRcluster handle, a read every 10 ms, a write every 100 ms)
# run through replay lag, a killed standby, the loss of the primary and a
# promotion, showing where every read and write went.
#
# Needs replroute installed (make install) and PostgreSQL's server binaries.
# Runs as an ordinary user (never root: PostgreSQL refuses).  Removes
# everything it started on exit, also on Ctrl-C (SIGINT), a closed terminal
# (SIGHUP) and SIGTERM; KEEP=1 leaves the cluster running and prints how to
# use and stop it, as commands that work when pasted (as root too: DEMO_AS
# is the prefix that runs a command as the demo's user, see make_demo.sh).
# Every command shown with "$ " can be pasted as it is.
#
# Every claim the story makes is checked and printed as "[ok] ..." or
# "[FAILED] ..."; the exit status is non-zero if any claim failed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
KEEP=${KEEP:-0}
PGBIN=${PGBIN:-$(pg_config --bindir)}
PATH="$PGBIN:$PATH"
export PATH

if [ "$(id -u)" -eq 0 ]; then
	echo "demo.sh: run me as an ordinary user (PostgreSQL refuses root); \"make demo\" does that for you" >&2
	exit 2
fi
for cmd in initdb pg_ctl pg_basebackup psql replroute pkg-config cc; do
	command -v "$cmd" >/dev/null 2>&1 || {
		echo "demo.sh: \"$cmd\" not found: install PostgreSQL's server package and replroute (sudo make install)" >&2
		exit 2
	}
done
pkg-config --exists replroute || {
	echo "demo.sh: pkg-config does not know replroute: run \"sudo make install\" first" >&2
	exit 2
}

dir=$(mktemp -d "${TMPDIR:-/tmp}/replroute-demo.XXXXXX")
traffic_pid=""
failures=0
started=""

# Messages of the cleanup go to stderr: a signal can arrive while the shell
# runs a function with its stdout sent to /dev/null ("window >/dev/null"),
# and the trap then runs under that redirection.  (That is how Ctrl-C's
# "interrupted" line got lost.)  stderr is never redirected around a
# function here.  set +e: a closed terminal must not stop the cleanup.
cleanup()
{
	rc=$?
	set +e
	trap - EXIT INT TERM HUP
	[ -n "$traffic_pid" ] && kill "$traffic_pid" 2>/dev/null && wait "$traffic_pid" 2>/dev/null
	if [ "$KEEP" = 1 ] && [ $rc -eq 0 ]; then
		return
	fi
	if [ $rc -ne 0 ] && [ $rc -lt 128 ] && [ -f "$dir/traffic.log" ]; then
		echo "--- the application's last words:" >&2
		tail -n 5 "$dir/traffic.log" >&2
	fi
	for n in $started; do
		pg_ctl -D "$dir/$n" -m immediate stop >/dev/null 2>&1 || true
	done
	rm -rf "$dir"
	exit $rc
}
# on_signal NAME STATUS: say so (stderr, see cleanup) and exit, which runs cleanup
on_signal()
{
	set +e
	printf '\n%s: cleaning up\n' "$1" >&2
	exit "$2"
}
trap cleanup EXIT
trap 'on_signal interrupted 130' INT
trap 'on_signal hangup 129' HUP
trap 'on_signal terminated 143' TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
[ -t 1 ] && [ -z "${NO_COLOR:-}" ] || say() { printf '\n== %s\n' "$*"; }
# quote WORD: WORD as the shell reads it back: as it is when plain, else in
# single quotes, or double quotes when it holds a single quote and nothing
# that is special inside double quotes (SQL literals)
quote()
{
	case $1 in
	*[!A-Za-z0-9_./:=@%+,-]* | '') ;;
	*) printf '%s' "$1"; return ;;
	esac
	case $1 in
	*\'*) ;;
	*) printf "'%s'" "$1"; return ;;
	esac
	case $1 in
	*[\"\$\`\\!]*) printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
	*) printf '"%s"' "$1" ;;
	esac
}
# show CMD ARG...: print the command as one can paste it
show()
{
	_line='$'
	for _a in "$@"; do
		_line="$_line $(quote "$_a")"
	done
	printf '%s\n' "$_line" >&2
}
run() { show "$@"; "$@"; }
# check DESCRIPTION CONDITION: print whether the claim held
check()
{
	if eval "$2"; then
		printf '[ok] %s\n' "$1"
	else
		printf '[FAILED] %s\n' "$1"
		failures=$((failures + 1))
	fi
}

free_port()
{
	perl -MIO::Socket::INET -e \
		'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1", LocalPort => 0)->sockport'
}

P=$(free_port)
S1=$(free_port)
S2=$(free_port)
while [ "$S1" = "$P" ] || [ "$S2" = "$P" ] || [ "$S2" = "$S1" ]; do
	S1=$(free_port)
	S2=$(free_port)
done
# user= and -U: the commands shown work for root too (there is no role
# "root"); the servers trust every local TCP connection
me=$(id -un)
CI="host=127.0.0.1,127.0.0.1,127.0.0.1 port=$P,$S1,$S2 dbname=postgres user=$me connect_timeout=2"

sql() { psql -X -q -At -h 127.0.0.1 -p "$1" -U "$me" -d postgres -c "$2"; }
# run_sql PORT SQL: sql, shown as the psql command it is
run_sql()
{
	show psql -X -q -At -h 127.0.0.1 -p "$1" -U "$me" -d postgres -c "$2"
	sql "$1" "$2"
}

#
# The cluster, built by hand
#
say "Building a primary (:$P) and two standbys (:$S1, :$S2) in $dir"
show initdb -D "$dir/primary" --auth=trust
initdb -D "$dir/primary" --auth=trust --no-instructions >"$dir/initdb.log" 2>&1
cat >>"$dir/primary/postgresql.conf" <<EOF
port = $P
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
wal_level = replica
max_wal_senders = 10
EOF
started="primary"
run pg_ctl -D "$dir/primary" -l "$dir/primary.log" -w start >/dev/null
run_sql "$P" "CREATE ROLE demo_repl LOGIN REPLICATION"
run_sql "$P" "SELECT pg_create_physical_replication_slot('standby1'), pg_create_physical_replication_slot('standby2')" >/dev/null
run_sql "$P" "CREATE EXTENSION replroute"
sql "$P" "CREATE TABLE demo_traffic (t timestamptz); CREATE TABLE demo_rw (id int)"
for n in 1 2; do
	port=$(eval echo "\$S$n")
	run pg_basebackup -h 127.0.0.1 -p "$P" -U demo_repl -D "$dir/standby$n" -R -S "standby$n" -c fast
	# -R wrote standby.signal and primary_conninfo; give it its own port
	printf "port = %s\n" "$port" >>"$dir/standby$n/postgresql.conf"
	started="$started standby$n"
	run pg_ctl -D "$dir/standby$n" -l "$dir/standby$n.log" -w start >/dev/null
done
for i in $(seq 1 50); do
	n=$(sql "$P" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
	[ "$n" = 2 ] && break
	sleep 0.1
done
echo "conninfo: $CI"

#
# The application
#
printf '$ cc traffic.c $(pkg-config --cflags --libs replroute) -o traffic\n' >&2
cc "$here/traffic.c" $(pkg-config --cflags --libs replroute) -o "$dir/traffic"
"$dir/traffic" "$CI" >"$dir/traffic.log" 2>&1 &
traffic_pid=$!

# window: what the application did since the previous call
window()
{
	before=$(wc -l <"$dir/traffic.log")
	kill -USR1 "$traffic_pid"
	for i in $(seq 1 100); do
		[ "$(wc -l <"$dir/traffic.log")" -gt "$before" ] && break
		sleep 0.05
	done
	tail -n 1 "$dir/traffic.log"
}
count() { echo "$1" | sed -n "s/.*$2: [^|]*\b$3=\([0-9]*\).*/\1/p"; }
failed() { echo "$1" | sed -n "s/.*failed $2=\([0-9]*\).*/\1/p"; }

sleep 0.5
window >/dev/null

#
# 1. Healthy
#
say "1. A healthy cluster: reads on the standbys, writes on the primary"
run replroute status "$CI"
sleep 2
w=$(window)
echo "application, last 2 s: $w"
check "reads spread over both standbys (:$S1 $(count "$w" reads "$S1"), :$S2 $(count "$w" reads "$S2"))" '[ "$(count "$w" reads "$S1")" -gt 0 ] && [ "$(count "$w" reads "$S2")" -gt 0 ]'
check "writes on the primary ($(count "$w" writes "$P")), no read there" '[ "$(count "$w" reads "$P")" = 0 ] && [ "$(count "$w" writes "$P")" -gt 0 ]'

#
# 2. Lag
#
say "2. Replay paused on standby2 while the primary writes"
run_sql "$S2" "SELECT pg_wal_replay_pause()" >/dev/null
sleep 1.5
run replroute status "$CI"
window >/dev/null
sleep 2
w=$(window)
echo "application, next 2 s: $w"
check "the lagging standby got no reads (:$S2 0, :$S1 $(count "$w" reads "$S1"))" '[ "$(count "$w" reads "$S2")" = 0 ] && [ "$(count "$w" reads "$S1")" -gt 0 ]'
check "no read failed" '[ "$(failed "$w" reads)" = 0 ]'
run_sql "$S2" "SELECT pg_wal_replay_resume()" >/dev/null
sleep 1
window >/dev/null
sleep 1.5
w=$(window)
echo "application, after resume: $w"
check "resumed, standby2 rejoins ($(count "$w" reads "$S2") reads)" '[ "$(count "$w" reads "$S2")" -gt 0 ]'

#
# 3. Read-your-writes
#
say "3. Read-your-writes: standbys now apply WAL one second late"
for port in $S1 $S2; do
	sql "$port" "ALTER SYSTEM SET recovery_min_apply_delay = '1s'"
	sql "$port" "SELECT pg_reload_conf()" >/dev/null
done
show replroute exec --write --token "$CI" "INSERT INTO demo_rw VALUES (42)"
token=$(replroute exec --write --token "$CI" "INSERT INTO demo_rw VALUES (42)" 2>&1 >/dev/null |
	sed -n 's/^replroute: session token: //p')
echo "session token: $token"
show replroute exec --read -o max_lag_seconds=10s "$CI" "SELECT count(*), inet_server_port() FROM demo_rw"
plain=$(replroute exec --read -o max_lag_seconds=10s "$CI" "SELECT count(*), inet_server_port() FROM demo_rw")
echo "$plain    <- a plain read on a standby: the row is not there yet"
show replroute exec --read --after-token "$token" -o "causal_wait=3s max_lag_seconds=10s" "$CI" "SELECT count(*), inet_server_port() FROM demo_rw"
fresh=$(replroute exec --read --after-token "$token" -o "causal_wait=3s max_lag_seconds=10s" "$CI" \
	"SELECT count(*), inet_server_port() FROM demo_rw")
echo "$fresh    <- with the token: the standby waited until it had the write"
case "$plain" in 0\|*) r=0 ;; *) r=1 ;; esac
check "without the token the standby read is stale" '[ $r = 0 ]'
case "$fresh" in "1|$S1" | "1|$S2") r=0 ;; *) r=1 ;; esac
check "with the token the same kind of read sees the write, on a standby" '[ $r = 0 ]'
for port in $S1 $S2; do
	sql "$port" "ALTER SYSTEM RESET recovery_min_apply_delay"
	sql "$port" "SELECT pg_reload_conf()" >/dev/null
done
sleep 1.5

#
# 4. A standby dies
#
say "4. Standby1 killed (pg_ctl -m immediate)"
window >/dev/null
sleep 0.5
run pg_ctl -D "$dir/standby1" -m immediate stop >/dev/null
sleep 2
w=$(window)
echo "application, 2.5 s around the kill: $w"
check "reads carried on with no error" '[ "$(failed "$w" reads)" = 0 ] && [ "$(count "$w" reads "$S2")" -gt 0 ]'
run pg_ctl -D "$dir/standby1" -l "$dir/standby1.log" -w start >/dev/null

#
# 5. The primary dies; a standby is promoted
#
say "5. The primary stopped, then standby1 promoted"
sleep 1
window >/dev/null
run pg_ctl -D "$dir/primary" -m fast stop >/dev/null
sleep 1.5
w=$(window)
echo "application, primary down: $w"
check "reads still served; writes fail cleanly ($(failed "$w" writes) refused)" '[ "$(failed "$w" reads)" = 0 ] && [ "$(failed "$w" writes)" -gt 0 ]'
run pg_ctl -D "$dir/standby1" -w promote >/dev/null
sleep 1.5
window >/dev/null
sleep 1.5
w=$(window)
echo "application, after promotion: $w"
check "writes resume on the promoted standby1, same application handle, no restart" '[ "$(count "$w" writes "$S1")" -gt 0 ] && [ "$(failed "$w" writes)" = 0 ]'
echo "standby2 still follows the old primary; point it at the new one:"
run_sql "$S1" "SELECT pg_create_physical_replication_slot('standby2')" >/dev/null
run_sql "$S2" "ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=$S1 user=demo_repl'"
sql "$S2" "SELECT pg_reload_conf()" >/dev/null
for i in $(seq 1 100); do
	[ "$(sql "$S2" "SELECT timeline FROM replroute.node_status()")" = 2 ] && break
	sleep 0.1
done
sleep 0.5
window >/dev/null
sleep 1.5
w=$(window)
echo "application, standby2 following the new primary: $w"
check "standby2 serves reads again, now on the new timeline" '[ "$(count "$w" reads "$S2")" -gt 0 ]'
run replroute status "$CI"

kill "$traffic_pid" 2>/dev/null && wait "$traffic_pid" 2>/dev/null
traffic_pid=""

say "Done"
if [ $failures -gt 0 ]; then
	echo "$failures claim(s) did not hold: see above"
	exit 1
fi
echo "every claim held"
if [ "$KEEP" = 1 ]; then
	# For whoever ran "make demo": as root, DEMO_AS runs pg_ctl as the
	# servers' owner (runuser); pg_ctl by its full path (Debian keeps it off
	# PATH).  One command a line, each pasteable as it is.
	echo
	echo "The cluster is still running (KEEP=1). Try:"
	printf '  replroute status %s\n' "$(quote "$CI")"
	printf '  replroute exec --read %s %s\n' "$(quote "$CI")" "'SELECT inet_server_port()'"
	printf '  psql -h 127.0.0.1 -p %s -U %s -d postgres -c %s\n' "$S1" "$(quote "$me")" \
		"'SELECT * FROM replroute.node_status()'"
	echo "Stop it and remove everything with:"
	for n in $started; do
		[ -f "$dir/$n/postmaster.pid" ] &&
			printf '  %s%s -D %s -m fast stop\n' "${DEMO_AS:-}" "$(quote "$PGBIN/pg_ctl")" \
				"$(quote "$dir/$n")"
	done
	printf '  rm -rf %s\n' "$(quote "$dir")"
fi
