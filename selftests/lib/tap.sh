#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tap.sh - a few Test::More-style helpers for TAP-emitting bash tests.
#
#   ok COND_STATUS DESC        ok/not ok from a status (0 = pass)
#   is GOT EXPECTED DESC       string equality, diagnostic shows both
#   isnt GOT UNEXPECTED DESC
#   like GOT REGEX DESC        extended regex match
#   cmp_ok GOT OP EXPECTED DESC  numeric: -eq -ne -lt -le -gt -ge
#   skip REASON DESC           one skipped test
#   skip_all REASON            whole script skipped (plan 1..0)
#   diag MSG / note MSG        "# MSG" lines
#   done_testing               trailing plan; exit status = failures > 0
#
# The plan is printed at the end (TAP allows a trailing plan) so a script
# that dies half way has no plan and prove reports it as failed.

TAP_N=0
TAP_FAILED=0

diag()
{
	local line
	while IFS= read -r line; do
		printf "# %s\n" "$line" >&2
	done <<<"$*"
}

note() { printf "# %s\n" "$@"; }

# _tap_result PASS(0/1) DESC: print one result line.
_tap_result()
{
	TAP_N=$((TAP_N + 1))
	if [ "$1" -eq 0 ]; then
		printf 'ok %d - %s\n' "$TAP_N" "$2"
	else
		printf 'not ok %d - %s\n' "$TAP_N" "$2"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

ok()
{
	local st=$1 desc=$2
	[ "$st" -eq 0 ] 2>/dev/null || st=1
	_tap_result "$st" "$desc"
	return "$st"
}

is()
{
	local got=$1 exp=$2 desc=$3
	if [ "$got" == "$exp" ]; then
		_tap_result 0 "$desc"
		return 0
	fi
	_tap_result 1 "$desc"
	diag "  Failed test '$desc'"
	diag "         got: '$got'"
	diag "    expected: '$exp'"
	return 1
}

isnt()
{
	local got=$1 exp=$2 desc=$3
	if [ "$got" != "$exp" ]; then
		_tap_result 0 "$desc"
		return 0
	fi
	_tap_result 1 "$desc"
	diag "  Failed test '$desc'"
	diag "         got: '$got'"
	diag "    expected: anything else"
	return 1
}

like()
{
	local got=$1 re=$2 desc=$3
	if [[ "$got" =~ $re ]]; then
		_tap_result 0 "$desc"
		return 0
	fi
	_tap_result 1 "$desc"
	diag "  Failed test '$desc'"
	diag "                  '${got:0:2000}'"
	diag "    doesn't match '$re'"
	return 1
}

unlike()
{
	local got=$1 re=$2 desc=$3
	if ! [[ "$got" =~ $re ]]; then
		_tap_result 0 "$desc"
		return 0
	fi
	_tap_result 1 "$desc"
	diag "  Failed test '$desc'"
	diag "                  '${got:0:2000}'"
	diag "          matches '$re'"
	return 1
}

cmp_ok()
{
	local got=$1 op=$2 exp=$3 desc=$4
	if [[ "$got" =~ ^-?[0-9]+$ ]] && [ "$got" "$op" "$exp" ]; then
		_tap_result 0 "$desc"
		return 0
	fi
	_tap_result 1 "$desc"
	diag "  Failed test '$desc'"
	diag "    '$got'"
	diag "        $op"
	diag "    '$exp'"
	return 1
}

# within GOT EXPECTED TOLERANCE DESC: |got - expected| <= tolerance
within()
{
	local got=$1 exp=$2 tol=$3 desc=$4 d
	if [[ "$got" =~ ^-?[0-9]+$ ]]; then
		d=$((got - exp))
		[ "$d" -lt 0 ] && d=$((-d))
		if [ "$d" -le "$tol" ]; then
			_tap_result 0 "$desc"
			return 0
		fi
	fi
	_tap_result 1 "$desc"
	diag "  Failed test '$desc'"
	diag "         got: '$got'"
	diag "    expected: $exp +- $tol"
	return 1
}

skip()
{
	TAP_N=$((TAP_N + 1))
	printf 'ok %d - %s # SKIP %s\n' "$TAP_N" "$2" "$1"
}

# bail_out REASON: something that make test itself provides is missing (a
# binary it builds, a package make deps installs): that is a failure of the
# suite, never a skip.
bail_out()
{
	printf 'Bail out! %s\n' "$*"
	exit 1
}

skip_all()
{
	printf '1..0 # SKIP %s\n' "$1"
	TAP_SKIPPED_ALL=1
	exit 0
}

done_testing()
{
	printf '1..%d\n' "$TAP_N"
	TAP_DONE=1
	[ "$TAP_FAILED" -eq 0 ]
}
