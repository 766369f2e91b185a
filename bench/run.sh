#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh - the L7 benchmark: xadcd side by side with HAProxy and NGINX.
#
# Builds a three-namespace lab (client, proxy, backend), starts one NGINX
# backend and every contender, runs each scenario in interleaved rounds
# (xadcd HAProxy NGINX direct, xadcd HAProxy NGINX direct, ...), the
# policy and DataScript cost scenarios (each proxy with and without the
# feature), the XDP per-packet cost (xadc's program and xdp-filter through
# BPF_PROG_TEST_RUN) and a live SYN flood (XDP, nftables, no filter), then
# writes bench/results/latest.{md,json} and a dated copy. See METHOD.md.
#
# Environment (defaults in brackets):
#   XADC_BUILD         build dir holding xadcd [../build]
#   BENCH_DURATION     seconds per measured run [3]
#   BENCH_RUNS         interleaved rounds per scenario [5]
#   BENCH_WARMUP       seconds of unmeasured warm-up per target and scenario [1]
#   BENCH_MEM_CONNS    idle connections for the memory scenario [9000]
#   BENCH_CONTENDERS   proxies to measure [xadcd haproxy nginx]
#   BENCH_SCENARIOS    scenario names to run [all, see lib/scenarios.sh]
#   BENCH_OUT          where results go [bench/results]
#   BENCH_KEEP=1       keep the scratch dir (configs, logs, raw results)
#   CPU_PROXY CPU_LOAD proxy CPU, load generator + backend CPU [1 0]
#   BENCH_NICE         nice level of every process the bench starts [-10]
#   BENCH_XDP_REPEAT   BPF_PROG_TEST_RUN repeat per XDP measurement [10000000]
#   BENCH_DROP_DURATION seconds per live flood run [3]
# Needs root (network namespaces). Everything is torn down on exit.

set -u -o pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
XADC_BUILD=${XADC_BUILD:-$BENCH_DIR/../build}
XADCD=$XADC_BUILD/xadcd
BENCH_DURATION=${BENCH_DURATION:-3}
BENCH_RUNS=${BENCH_RUNS:-5}
BENCH_WARMUP=${BENCH_WARMUP:-1}
BENCH_MEM_CONNS=${BENCH_MEM_CONNS:-9000}
BENCH_CONTENDERS=${BENCH_CONTENDERS:-xadcd haproxy nginx}
BENCH_OUT=${BENCH_OUT:-$BENCH_DIR/results}
CPU_PROXY=${CPU_PROXY:-1}
CPU_LOAD=${CPU_LOAD:-0}
BENCH_NICE=${BENCH_NICE:--10}
BENCH_XDP_REPEAT=${BENCH_XDP_REPEAT:-10000000}
BENCH_DROP_DURATION=${BENCH_DROP_DURATION:-3}
BENCH_XDP=$XADC_BUILD/bench/bench_xdp
XDP_FLOOD=$XADC_BUILD/bench/xdp_flood

. "$BENCH_DIR/lib/netns.sh"
. "$BENCH_DIR/lib/contenders.sh"
. "$BENCH_DIR/lib/scenarios.sh"

BENCH_SCENARIOS=${BENCH_SCENARIOS:-${SCENARIOS[*]}}

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

cleanup()
{
	lab_down
	xdp_lab_down
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		log "scratch dir kept: $DIR"
	else
		rm -rf "$DIR"
	fi
}

# check_env: root, tools, numbers, fd limit. Fails with what is missing.
check_env()
{
	local tool n
	[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
	for tool in ip taskset wrk nginx haproxy curl perl jq ss pgrep; do
		command -v "$tool" >/dev/null || die "$tool not found (make deps)"
	done
	for n in BENCH_DURATION BENCH_RUNS BENCH_WARMUP BENCH_MEM_CONNS CPU_PROXY CPU_LOAD \
		 BENCH_XDP_REPEAT BENCH_DROP_DURATION; do
		[[ ${!n} =~ ^[0-9]+$ ]] || die "$n=\"${!n}\" is not a whole number"
	done
	[[ $BENCH_NICE =~ ^-?[0-9]+$ ]] || die "BENCH_NICE=\"$BENCH_NICE\" is not a nice level"
	[ "$BENCH_DURATION" -ge 1 ] || die "BENCH_DURATION must be at least 1"
	[ "$BENCH_RUNS" -ge 1 ] || die "BENCH_RUNS must be at least 1"
	[ "$BENCH_XDP_REPEAT" -ge 1 ] && [ "$BENCH_DROP_DURATION" -ge 1 ] ||
		die "BENCH_XDP_REPEAT and BENCH_DROP_DURATION must be at least 1"
	[ "$CPU_PROXY" != "$CPU_LOAD" ] || die "CPU_PROXY and CPU_LOAD must differ"
	[ "$CPU_PROXY" -lt "$(nproc)" ] && [ "$CPU_LOAD" -lt "$(nproc)" ] ||
		die "CPU_PROXY/CPU_LOAD must be below nproc ($(nproc))"
	for n in $BENCH_SCENARIOS; do
		[ -n "${SCN_KIND[$n]:-}" ] || die "unknown scenario \"$n\" (have: ${SCENARIOS[*]})"
	done
	# The idle client holds BENCH_MEM_CONNS sockets in one process and
	# each proxy one fd per client: both need that under RLIMIT_NOFILE.
	n=$(ulimit -n)
	if [ "$n" != unlimited ] && [ "$n" -lt $((BENCH_MEM_CONNS + 200)) ]; then
		die "open-file limit $n is too low for BENCH_MEM_CONNS=$BENCH_MEM_CONNS"
	fi
}

# machine_json: the machine and software the figures come from.
machine_json()
{
	local t vers=()
	for t in xadcd haproxy nginx wrk; do
		vers+=(--arg "v_$t" "$(target_version "$t")")
	done
	jq -n --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
		--arg nproc "$(nproc)" \
		--arg cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
		--arg kernel "$(uname -r)" \
		--arg mem "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)" \
		--arg nofile "$(ulimit -n)" \
		"${vers[@]}" \
		--argjson duration "$BENCH_DURATION" --argjson runs "$BENCH_RUNS" \
		--argjson warmup "$BENCH_WARMUP" --argjson memconns "$BENCH_MEM_CONNS" \
		--argjson cpu_proxy "$CPU_PROXY" --argjson cpu_load "$CPU_LOAD" \
		--argjson nice "$BENCH_NICE" --argjson xrep "$BENCH_XDP_REPEAT" \
		--argjson ddur "$BENCH_DROP_DURATION" --arg kxdp "xdp-tools $(dpkg-query -W -f '${Version}' xdp-tools 2>/dev/null)" \
		--arg knft "$(nft --version 2>&1 | head -1)" '{
		date: $date,
		machine: { nproc: ($nproc | tonumber), cpu_model: $cpu, kernel: $kernel,
			   memory: $mem, open_file_limit: $nofile },
		versions: { xadcd: $v_xadcd, haproxy: $v_haproxy, nginx: $v_nginx, wrk: $v_wrk,
			    xdp_filter: $kxdp, nft: $knft },
		settings: { duration_s: $duration, runs: $runs, warmup_s: $warmup,
			    idle_conns: $memconns, cpu_proxy: $cpu_proxy, cpu_load_and_backend: $cpu_load,
			    nice: $nice, xdp_repeat: $xrep, drop_duration_s: $ddur }
	}'
}

# record SCEN TARGET ROUND JSON: append one raw result.
record()
{
	jq -cn --arg s "$1" --arg t "$2" --argjson r "$3" --argjson res "$4" \
		'{scenario: $s, target: $t, round: $r, result: $res}' >>"$DIR/raw.jsonl"
}

# measured_targets: contenders still ok, in order.
measured_targets()
{
	local t
	for t in $BENCH_CONTENDERS; do
		[ "${T_STATUS[$t]}" = ok ] && printf '%s ' "$t"
	done
}

# run_scenario SCEN TARGET: run one measurement into $res. Not in a
# command substitution: a scenario may restart a contender, and the new
# pid must be known to this shell so it gets stopped at the end.
run_scenario()
{
	"scenario_$1" "$2" >"$DIR/result.json" 2>>"$DIR/errors.log"
	res=$(tail -n 1 "$DIR/result.json")
	[ -n "$res" ] || res='{"error":"no result"}'
}

# run_rate SCEN: warm-up, then interleaved rounds over contenders + direct.
run_rate()
{
	local s=$1 r t res saved=$BENCH_DURATION
	if [ "$BENCH_WARMUP" -gt 0 ]; then
		BENCH_DURATION=$BENCH_WARMUP
		for t in $(measured_targets) direct; do
			"scenario_$s" "$t" >/dev/null 2>>"$DIR/errors.log"
		done
		BENCH_DURATION=$saved
	fi
	for r in $(seq "$BENCH_RUNS"); do
		record "$s" idle "$r" "$(background_load)"
		for t in $(measured_targets) direct; do
			run_scenario "$s" "$t"
			if [ "$t" != direct ] && ! kill -0 "${T_PID[$t]}" 2>/dev/null; then
				T_STATUS[$t]="not measured: exited during $s round $r (see its log)"
				log "$t exited during $s round $r"
				continue
			fi
			log "$s round $r $t: $(jq -r '"\(.rps // 0 | floor) req/s p50 \(.p50_us // 0)us p99 \(.p99_us // 0)us errors \((.err_connect // 0) + (.err_read // 0) + (.err_write // 0) + (.err_status // 0) + (.err_timeout // 0))"' <<<"$res")"
			record "$s" "$t" "$r" "$res"
		done
	done
}

# run_mem SCEN: once per contender, on a fresh process.
run_mem()
{
	local s=$1 t res
	for t in $(measured_targets); do
		run_scenario "$s" "$t"
		if [ "${T_STATUS[$t]}" = ok ] && [ -z "${T_PID[$t]}" ]; then
			T_STATUS[$t]="not measured: did not restart for $s"
		fi
		log "$s $t: $res"
		record "$s" "$t" 1 "$res"
	done
}

# cost_targets SCEN: the scenario's targets that are up, in order.
cost_targets()
{
	local t
	for t in ${SCN_TARGETS[$1]}; do
		[ "${T_STATUS[$t]:-}" = ok ] && printf '%s ' "$t"
	done
}

# run_cost SCEN: like run_rate over the scenario's own targets (each
# variant next to its plain contender), without the direct baseline.
run_cost()
{
	local s=$1 r t res saved=$BENCH_DURATION
	if [ "$BENCH_WARMUP" -gt 0 ]; then
		BENCH_DURATION=$BENCH_WARMUP
		for t in $(cost_targets "$s"); do
			"scenario_$s" "$t" >/dev/null 2>>"$DIR/errors.log"
		done
		BENCH_DURATION=$saved
	fi
	for r in $(seq "$BENCH_RUNS"); do
		record "$s" idle "$r" "$(background_load)"
		for t in $(cost_targets "$s"); do
			run_scenario "$s" "$t"
			if ! kill -0 "${T_PID[$t]}" 2>/dev/null; then
				T_STATUS[$t]="not measured: exited during $s round $r (see its log)"
				log "$t exited during $s round $r"
				continue
			fi
			log "$s round $r $t: $(jq -r '"\(.rps // 0 | floor) req/s p99 \(.p99_us // 0)us"' <<<"$res")"
			record "$s" "$t" "$r" "$res"
		done
	done
}

# run_xdp SCEN: one bench_xdp run (it interleaves the two programs and
# does the rounds itself); every line it prints is a raw result.
run_xdp()
{
	local s=$1 line n=0
	if ! xdp_lab_up 2>>"$DIR/errors.log"; then
		XDP_STATUS="not measured: could not create the XDP namespace"
		return
	fi
	record "$s" idle 1 "$(background_load)"
	"scenario_$s" >"$DIR/xdp.jsonl" 2>>"$DIR/errors.log"
	while read -r line; do
		jq -e .prog <<<"$line" >/dev/null 2>&1 || continue
		record "$s" "$(jq -r .prog <<<"$line")" "$(jq -r .round <<<"$line")" "$line"
		n=$((n + 1))
	done <"$DIR/xdp.jsonl"
	xdp_lab_down
	if [ "$n" = 0 ]; then
		XDP_STATUS="not measured: bench_xdp gave no result: $(tail -n 2 "$DIR/errors.log" | tr '\n' ' ')"
	fi
	log "$s: $n measurements"
}

# run_drop SCEN: every filter once per round, interleaved.
run_drop()
{
	local s=$1 r f
	for r in $(seq "$BENCH_RUNS"); do
		record "$s" idle "$r" "$(background_load)"
		for f in $DROP_FILTERS; do
			run_scenario "$s" "$f"
			log "$s round $r $f: $res"
			record "$s" "$f" "$r" "$res"
		done
	done
}

# start_variants: the cost scenarios' variants whose plain contender runs.
start_variants()
{
	local s t
	for s in $BENCH_SCENARIOS; do
		[ "${SCN_KIND[$s]}" = cost ] || continue
		for t in ${SCN_TARGETS[$s]}; do
			[ -n "${T_BASE[$t]:-}" ] && [ -z "${T_STATUS[$t]:-}" ] || continue
			if [ "${T_STATUS[${T_BASE[$t]}]:-}" != ok ]; then
				T_STATUS[$t]="not measured: ${T_BASE[$t]} is not measured"
			elif start_target "$t" 2>>"$DIR/errors.log"; then
				T_STATUS[$t]=ok
			else
				T_STATUS[$t]="not measured: $(tail -n 1 "$DIR/errors.log")"
			fi
			log "$t: ${T_STATUS[$t]}"
		done
	done
}

# estimate_seconds: rough length of the run, shown before it starts.
estimate_seconds()
{
	local s n=0 ntarg=1 t
	for t in $(measured_targets); do
		ntarg=$((ntarg + 1))
	done
	for s in $BENCH_SCENARIOS; do
		case ${SCN_KIND[$s]} in
		rate)
			n=$((n + ntarg * (BENCH_WARMUP + 1) + ntarg * BENCH_RUNS * (BENCH_DURATION + 1)))
			;;
		cost)
			n=$((n + 4 * (BENCH_WARMUP + 1) + 4 * BENCH_RUNS * (BENCH_DURATION + 1)))
			;;
		xdp)
			# 18 runs per round of about 150 ns per packet, plus loading.
			n=$((n + 10 + BENCH_RUNS * 18 * BENCH_XDP_REPEAT / 6000000))
			;;
		drop)
			n=$((n + BENCH_RUNS * 3 * (BENCH_DROP_DURATION + 2)))
			;;
		*)
			n=$((n + (ntarg - 1) * (8 + BENCH_MEM_CONNS / 1000)))
			;;
		esac
	done
	echo "$n"
}

main()
{
	local t s stamp statuses=()

	check_env
	DIR=$(mktemp -d "/tmp/xb$$.XXXXXX") || die "mktemp failed"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	: >"$DIR/raw.jsonl"

	log "lab: namespaces $NS_CLI $NS_PX $NS_BE; proxy on CPU $CPU_PROXY, wrk + backend on CPU $CPU_LOAD"
	lab_up || die "could not build the namespace lab"
	start_backend 2>>"$DIR/errors.log" || die "backend NGINX did not start: $(tail -n 3 "$DIR/errors.log")"

	for t in $BENCH_CONTENDERS; do
		if start_target "$t" 2>>"$DIR/errors.log"; then
			T_STATUS[$t]=ok
		else
			T_STATUS[$t]="not measured: $(tail -n 1 "$DIR/errors.log")"
		fi
		log "$t: ${T_STATUS[$t]}"
	done
	[ -n "$(measured_targets)" ] || die "no contender started"
	start_variants
	XDP_STATUS=ok
	for t in "$BENCH_XDP" "$XDP_FLOOD"; do
		[ -x "$t" ] || XDP_STATUS="not measured: no $t (make bench-xdp)"
	done
	for t in xdp-filter nft; do
		command -v "$t" >/dev/null || XDP_STATUS="not measured: $t not found (make deps)"
	done
	log "estimated length: about $(( $(estimate_seconds) / 60 + 1 )) minutes"

	for s in $BENCH_SCENARIOS; do
		log "scenario $s: ${SCN_DESC[$s]}"
		case ${SCN_KIND[$s]} in
		xdp | drop)
			if [ "$XDP_STATUS" != ok ]; then
				log "$s: $XDP_STATUS"
				continue
			fi
			;;
		esac
		"run_${SCN_KIND[$s]}" "$s"
	done

	for t in "${!T_STATUS[@]}"; do
		statuses+=(--arg "$t" "${T_STATUS[$t]}")
	done
	statuses+=(--arg xdp "$XDP_STATUS")
	{
		machine_json
		jq -n "${statuses[@]}" '{status: $ARGS.named}'
		for s in $BENCH_SCENARIOS; do
			jq -n --arg n "$s" --arg k "${SCN_KIND[$s]}" --arg d "${SCN_DESC[$s]}" \
				'{scenarios: [{name: $n, kind: $k, description: $d}]}'
		done
		jq -n --arg c "$BENCH_CONTENDERS" '{contenders: ($c | split(" ") | map(select(. != "")))}'
	} | jq -s 'reduce .[] as $o ({scenarios: []}; . + $o + {scenarios: (.scenarios + ($o.scenarios // []))})' \
		>"$DIR/meta.json" || die "could not write meta.json"

	mkdir -p "$BENCH_OUT"
	stamp=$(date -u +%Y%m%d-%H%M%S)
	perl "$BENCH_DIR/lib/report.pl" "$DIR/meta.json" "$DIR/raw.jsonl" \
		"$BENCH_OUT/$stamp.json" "$BENCH_OUT/$stamp.md" || die "report failed"
	cp "$BENCH_OUT/$stamp.json" "$BENCH_OUT/latest.json"
	cp "$BENCH_OUT/$stamp.md" "$BENCH_OUT/latest.md"
	log "results: $BENCH_OUT/latest.md (copy: $stamp.md)"
	cat "$BENCH_OUT/latest.md"
}

main "$@"
