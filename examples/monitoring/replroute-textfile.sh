#!/bin/sh
#
# replroute-textfile.sh: write "replroute metrics" for the node_exporter
# textfile collector, atomically (node_exporter never reads half a file).
#
# Usage: replroute-textfile.sh DIRECTORY [replroute metrics arguments...]
#   e.g. replroute-textfile.sh /var/lib/prometheus/node-exporter \
#            "host=db1,db2,db3 dbname=app user=monitor"
#   or, with PGHOST/PGPORT or PGSERVICE set, just the directory.
#
# Run it from cron or a systemd timer (every 15 s to 1 min), as a user that
# may write DIRECTORY.  The file is DIRECTORY/replroute.prom; it is replaced
# only by a complete exposition (also when every node is down: then
# replroute_node_up is 0 for each), never left half-written.  REPLROUTE
# names the replroute binary (default: the one on PATH).
set -u

if [ $# -lt 1 ] || [ -z "$1" ]; then
	echo "usage: $0 DIRECTORY [replroute metrics arguments...]" >&2
	exit 2
fi
dir=$1
shift

# a name the collector ignores (it reads *.prom only), in the same file
# system, so that the rename below is atomic
tmp=$(mktemp "$dir/.replroute.prom.XXXXXX") || exit 1
trap 'rm -f "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if "${REPLROUTE:-replroute}" metrics "$@" >"$tmp"; then
	chmod 644 "$tmp"
	mv -f "$tmp" "$dir/replroute.prom"
else
	rc=$?
	echo "$0: replroute metrics failed (exit $rc); $dir/replroute.prom left as it was" >&2
	exit $rc
fi
