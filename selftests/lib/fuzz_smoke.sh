#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fuzz_smoke.sh FUZZER - run one libFuzzer target for $XADC_FUZZ_SECS
# seconds (default 20) on a temp copy of its corpus, as a one-test TAP
# script. The corpus is selftests/fuzz/corpus_<short>/, corpus/<short>/ or
# selftests/fuzz/<name>_corpus/ when present (copied: the fuzzer adds to it).

bin=$1
name=$(basename "$bin")
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
secs=${XADC_FUZZ_SECS:-20}
tmp=$(mktemp -d /tmp/xadc-fuzz.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/corpus"
short=${name#fuzz_}
for d in "$top/selftests/fuzz/corpus_$short" "$top/selftests/fuzz/corpus/$short" "$top/selftests/fuzz/corpus/$name" \
	"$top/selftests/fuzz/${short}_corpus" "$top/selftests/fuzz/${name}_corpus"; do
	[ -d "$d" ] && cp -r "$d"/. "$tmp/corpus/"
done

echo "1..1"
cd "$tmp" || exit 1
timeout $((secs + 60)) "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$tmp/" "$tmp/corpus" >"$tmp/log" 2>&1
st=$?
if [ "$st" -eq 0 ]; then
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$tmp/log" | grep -o '[0-9]*$')
	echo "ok 1 - $name ran ${secs}s (${runs:-?} executions) without a crash"
else
	echo "not ok 1 - $name exited $st"
	{
		echo "# ---- $name output (tail) ----"
		tail -n 40 "$tmp/log" | sed 's/^/# /'
		for a in "$tmp"/crash-* "$tmp"/leak-* "$tmp"/timeout-* "$tmp"/oom-*; do
			[ -f "$a" ] || continue
			keep="/tmp/$name-$(basename "$a")"
			cp "$a" "$keep"
			echo "# reproducer kept: $keep"
		done
	} >&2
fi
exit "$st"
