#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh [FILTER] - run xadc's test suite through prove.
#
#   unit   every $XADC_BUILD/selftests/test_* (TAP from test_progs.h)
#   fuzz   every $XADC_BUILD/selftests/fuzz_* for $XADC_FUZZ_SECS (20) seconds
#   e2e    every selftests/e2e/*.sh (network namespaces, needs root)
#
# FILTER is "unit", "fuzz", "e2e" or a substring of a test's name. The last
# lines are prove's summary and the exit status is prove's (non-zero when
# any test failed or died). XADC_VERBOSE=1 runs prove -v. Tests that cannot
# run here (not root, a tool missing) report "skipped: <why>".

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
filter=${1:-}
: "${XADC_BUILD:=$top/build}"
XADC_BUILD=$(cd "$XADC_BUILD" 2>/dev/null && pwd) || {
	echo "run.sh: build dir ${XADC_BUILD} does not exist (run make first)" >&2
	exit 1
}
export XADC_BUILD XADC_FUZZ_SECS=${XADC_FUZZ_SECS:-20}

tmp=$(mktemp -d /tmp/xadc-run.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/fuzz"

# wanted KIND NAME: does FILTER select this test?
wanted()
{
	[ -z "$filter" ] && return 0
	[ "$filter" == "$1" ] && return 0
	[[ "$2" == *"$filter"* ]]
}

tests=()
for t in "$XADC_BUILD"/selftests/test_*; do
	[ -x "$t" ] && [ -f "$t" ] || continue
	case "$t" in *.d | *.o) continue ;; esac
	wanted unit "$(basename "$t")" && tests+=("$t")
done

# Fuzzers do not speak TAP: each gets a small wrapper named after it.
nfuzz=0
for t in "$XADC_BUILD"/selftests/fuzz_*; do
	[ -x "$t" ] && [ -f "$t" ] || continue
	case "$t" in *.d | *.o) continue ;; esac
	name=$(basename "$t")
	wanted fuzz "$name" || continue
	printf '#!/bin/bash\nexec "%s/lib/fuzz_smoke.sh" "%s"\n' "$here" "$t" >"$tmp/fuzz/$name"
	chmod +x "$tmp/fuzz/$name"
	tests+=("$tmp/fuzz/$name")
	nfuzz=$((nfuzz + 1))
done
if [ "$nfuzz" -eq 0 ] && compgen -G "$top/selftests/fuzz/fuzz_*.c" >/dev/null &&
	{ [ -z "$filter" ] || [ "$filter" == fuzz ]; }; then
	# Sources exist but nothing was built: say so instead of passing quietly.
	printf '#!/bin/sh\necho "1..0 # SKIP fuzz targets not built (make fuzz needs clang + libFuzzer)"\n' \
		>"$tmp/fuzz/fuzz_targets"
	chmod +x "$tmp/fuzz/fuzz_targets"
	tests+=("$tmp/fuzz/fuzz_targets")
fi

for t in "$here"/e2e/*.sh; do
	[ -f "$t" ] || continue
	wanted e2e "$(basename "$t" .sh)" && tests+=("$t")
done

if [ "${#tests[@]}" -eq 0 ]; then
	echo "run.sh: no test matches '${filter}' (build dir $XADC_BUILD)" >&2
	exit 1
fi

args=(-f --timer --directives -e '')
[ -n "${XADC_VERBOSE:-}" ] && args+=(-v)
cd "$top" || exit 1
prove "${args[@]}" "${tests[@]}"
