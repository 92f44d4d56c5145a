#!/bin/sh
#
# run_fuzz.sh: run libFuzzer targets for a bounded time; what "make fuzz"
# and "make fuzz-check" do.
#
#   run_fuzz.sh fuzz|check SECONDS TARGET...
#
# Each TARGET (fuzz_NAME, seeds in corpus/NAME, dictionary NAME.dict) runs
# for SECONDS over a scratch copy of its corpus, in a directory under
# $TMPDIR (default /tmp); crash, leak, timeout and out-of-memory
# reproducers are written there too, never into the source tree.
#
#   fuzz    shows libFuzzer's output; keeps the scratch directory (the grown
#           corpus can be merged back, see README.md)
#   check   quiet; prints the end of the log only for a failing target;
#           removes the scratch directory when every target passed
#
# Ends with one verdict line per target.  Exit status 1 if any target
# failed.  Environment: FUZZ_TIMEOUT (seconds per input, default 10),
# FUZZ_RSS_MB (default 2048), FUZZ_MAX_LEN (bytes, default 4096).
set -u

if [ $# -lt 3 ] || { [ "$1" != fuzz ] && [ "$1" != check ]; }; then
	echo "usage: $0 fuzz|check SECONDS TARGET..." >&2
	exit 2
fi
mode=$1
secs=$2
shift 2
case $secs in
	'' | *[!0-9]* | 0)
		# libFuzzer reads -max_total_time=0 as "no limit"
		echo "$0: SECONDS must be a whole number above 0, not \"$secs\"" >&2
		exit 2 ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
timeout=${FUZZ_TIMEOUT:-10}
rss_mb=${FUZZ_RSS_MB:-2048}
max_len=${FUZZ_MAX_LEN:-4096}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/replroute-fuzz.XXXXXX") || exit 1
verdicts=$scratch/verdicts
: > "$verdicts"
failed=0

for target in "$@"; do
	name=${target#fuzz_}
	dir=$scratch/$name
	log=$dir/log
	mkdir -p "$dir/corpus" "$dir/artifacts"
	if ! cp "$here/corpus/$name/"* "$dir/corpus/"; then
		echo "$target: FAILED (no seed corpus in $here/corpus/$name)" >> "$verdicts"
		failed=1
		continue
	fi

	echo "fuzz: running $target for $secs s in $dir"
	if [ "$mode" = fuzz ]; then
		{
			"$here/$target" -max_total_time="$secs" -timeout="$timeout" \
				-rss_limit_mb="$rss_mb" -max_len="$max_len" \
				-dict="$here/$name.dict" -artifact_prefix="$dir/artifacts/" \
				-print_final_stats=1 "$dir/corpus"
			echo $? > "$dir/rc"
		} 2>&1 | tee "$log"
	else
		"$here/$target" -max_total_time="$secs" -timeout="$timeout" \
			-rss_limit_mb="$rss_mb" -max_len="$max_len" \
			-dict="$here/$name.dict" -artifact_prefix="$dir/artifacts/" \
			-print_final_stats=1 "$dir/corpus" > "$log" 2>&1
		echo $? > "$dir/rc"
	fi
	rc=$(cat "$dir/rc" 2>/dev/null || echo 1)

	# libFuzzer's final statistics and last coverage line
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	status=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
	cov=$(echo "$status" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$status" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$status" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')

	# any reproducer but slow-unit-* (a report, not a failure)
	artifact=$(ls "$dir/artifacts" | grep -v '^slow-unit-' | head -n 1)
	if [ "$rc" -ne 0 ] || [ -n "$artifact" ]; then
		failed=1
		if [ -n "$artifact" ]; then
			kind=${artifact%%-*}
			repro=$dir/artifacts/$artifact
		else
			kind="exit status $rc, no reproducer written"
			repro=""
		fi
		if [ "$mode" = check ]; then
			echo "fuzz: last lines of $log:"
			tail -n 60 "$log"
		fi
		if [ -n "$repro" ]; then
			echo "fuzz: $target failed ($kind); reproducer: $repro"
			echo "fuzz: reproduce with: $here/$target $repro"
			echo "$target: FAILED ($kind) after ${runs:-?} runs; reproducer: $repro" >> "$verdicts"
		else
			echo "$target: FAILED ($kind); log: $log" >> "$verdicts"
		fi
	else
		echo "$target: ${runs:-?} runs in $secs s (${eps:-?} exec/s), cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?} inputs, no crash" >> "$verdicts"
	fi
done

summary=$(cat "$verdicts")
rm -f "$verdicts"
echo
if [ "$failed" -ne 0 ]; then
	echo "fuzz: FAILED; logs and reproducers kept in $scratch (see $here/README.md)"
elif [ "$mode" = fuzz ]; then
	echo "fuzz: grown corpora kept in $scratch/*/corpus (see $here/README.md to merge)"
else
	rm -rf "$scratch"
fi
echo "$summary"
exit "$failed"
