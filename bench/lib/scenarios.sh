# SPDX-License-Identifier: GPL-2.0
# scenarios.sh - the list of measured scenarios, one function each.
#
# A scenario is registered with add_scenario NAME KIND "DESCRIPTION" and
# implemented by scenario_NAME TARGET, which prints one JSON object (no
# newline inside) with its figures.
#   KIND rate: run in interleaved rounds over every contender and the
#              backend directly ("direct"); must print "rps".
#   KIND mem:  run once per proxy contender on a fresh process.
# Later issues (policies, DataScripts, XDP) add scenarios here; METHOD.md
# lists the ones not yet measured.

SCENARIOS=()
declare -A SCN_KIND SCN_DESC

add_scenario()
{
	SCENARIOS+=("$1")
	SCN_KIND[$1]=$2
	SCN_DESC[$1]=$3
}

add_scenario ka_0b_c10 rate "keep-alive, 0 B body, 10 connections"
add_scenario ka_0b_c100 rate "keep-alive, 0 B body, 100 connections"
add_scenario ka_1k_c10 rate "keep-alive, 1 KiB body, 10 connections"
add_scenario ka_1k_c100 rate "keep-alive, 1 KiB body, 100 connections"
add_scenario close_0b_c50 rate "new connection per request (Connection: close), 0 B body, 50 connections"
add_scenario idle_mem mem "memory per idle keep-alive client connection"

scenario_ka_0b_c10() { wrk_measure "$1" /0 10; }
scenario_ka_0b_c100() { wrk_measure "$1" /0 100; }
scenario_ka_1k_c10() { wrk_measure "$1" /1k 10; }
scenario_ka_1k_c100() { wrk_measure "$1" /1k 100; }
scenario_close_0b_c50() { wrk_measure "$1" /0 50 'Connection: close'; }
scenario_idle_mem() { idle_mem_measure "$1" "$BENCH_MEM_CONNS"; }

# cpu_ticks: "busy total" jiffies of CPU_PROXY and CPU_LOAD, from /proc/stat.
cpu_ticks()
{
	awk -v a="cpu$CPU_PROXY" -v b="cpu$CPU_LOAD" '
		$1 == a || $1 == b {
			tot = 0
			for (i = 2; i <= 9; i++)
				tot += $i
			busy[$1] = tot - $5 - $6
			all[$1] = tot
		}
		END { print busy[a], all[a], busy[b], all[b] }' /proc/stat
}

# proc_ticks PID: user+system jiffies of a process (0 when none).
proc_ticks()
{
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] || { echo 0; return; }
	sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# wrk_measure TARGET PATH CONNS [HEADER]: one wrk run of BENCH_DURATION
# seconds, one thread, pinned to CPU_LOAD. Prints wrk's figures plus the
# busy share of both CPUs and of the measured process over the run.
wrk_measure()
{
	local t=$1 path=$2 conns=$3 hdr=${4:-} out line
	local c0 c1 p0 p1 args=(-t1 -c"$conns" -d"${BENCH_DURATION}s" --timeout 5s
				 --latency -s "$BENCH_DIR/lib/wrk_json.lua")

	[ -n "$hdr" ] && args+=(-H "$hdr")
	c0=$(cpu_ticks)
	p0=$(proc_ticks "${T_MPID[$t]}")
	out=$(ip netns exec "$NS_CLI" nice -n "$BENCH_NICE" taskset -c "$CPU_LOAD" wrk "${args[@]}" "${T_URL[$t]}$path" 2>&1)
	p1=$(proc_ticks "${T_MPID[$t]}")
	c1=$(cpu_ticks)
	line=$(printf '%s\n' "$out" | sed -n 's/^WRKJSON //p' | tail -1)
	if [ -z "$line" ]; then
		printf '%s\n' "$out" >&2
		echo '{"error":"wrk printed no result"}'
		return 1
	fi
	awk -v c0="$c0" -v c1="$c1" -v p0="$p0" -v p1="$p1" -v j="$line" 'BEGIN {
		split(c0, a); split(c1, b)
		px = (b[2] - a[2]) ? (b[1] - a[1]) / (b[2] - a[2]) : 0
		ld = (b[4] - a[4]) ? (b[3] - a[3]) / (b[4] - a[4]) : 0
		# Jiffies of the process over the wall time of the proxy CPU.
		pr = (b[2] - a[2]) ? (p1 - p0) / (b[2] - a[2]) : 0
		match(j, /"requests":[0-9]+/); req = substr(j, RSTART + 11, RLENGTH - 11)
		match(j, /"duration_us":[0-9]+/); dur = substr(j, RSTART + 14, RLENGTH - 14)
		sub(/}$/, "", j)
		printf "%s,\"rps\":%.1f,\"cpu_proxy_busy\":%.3f,\"cpu_load_busy\":%.3f,\"proc_cpu\":%.3f}\n",
			j, dur ? req / (dur / 1e6) : 0, px, ld, pr
	}'
}

# background_load: busy share of both CPUs over 0.5 s while nothing of the
# harness runs: other work on the machine that would skew the round.
background_load()
{
	local c0 c1
	c0=$(cpu_ticks)
	sleep 0.5
	c1=$(cpu_ticks)
	awk -v c0="$c0" -v c1="$c1" 'BEGIN {
		split(c0, a); split(c1, b)
		printf "{\"cpu_proxy_busy\":%.3f,\"cpu_load_busy\":%.3f}\n",
			(b[2] - a[2]) ? (b[1] - a[1]) / (b[2] - a[2]) : 0,
			(b[4] - a[4]) ? (b[3] - a[3]) / (b[4] - a[4]) : 0
	}'
}

# vmrss_kib PID: resident set size in KiB.
vmrss_kib()
{
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# idle_mem_measure TARGET N: fresh proxy, one warm-up request, RSS; then
# N idle keep-alive clients (each after one answered request), RSS again.
idle_mem_measure()
{
	local t=$1 n=$2 st="$DIR/idle-$1.status" cpid before after held i r
	local ok=0 failed=0 host=${T_URL[$1]#http://}

	if ! restart_target "$t" 2>>"$DIR/errors.log"; then
		echo '{"error":"restart failed"}'
		return 1
	fi
	http_check "${T_URL[$t]}/0" 0 || true
	sleep 1
	before=$(vmrss_kib "${T_MPID[$t]}")
	rm -f "$st"
	ip netns exec "$NS_CLI" nice -n "$BENCH_NICE" taskset -c "$CPU_LOAD" \
		perl "$BENCH_DIR/lib/idleconn.pl" "${host%:*}" "${host##*:}" /0 "$n" "$st" 300 &
	cpid=$!
	BENCH_PIDS+=("$cpid")
	for i in $(seq 1200); do
		[ -s "$st" ] && break
		kill -0 "$cpid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -s "$st" ]; then
		read -r r ok failed <"$st"
	fi
	sleep 2
	after=$(vmrss_kib "${T_MPID[$t]}")
	held=$(ip netns exec "$NS_PX" ss -Htn state established "( sport = :${T_PORT[$t]} )" | wc -l)
	kill -TERM "$cpid" 2>/dev/null
	wait "$cpid" 2>/dev/null
	forget_pid "$cpid"
	awk -v b="${before:-0}" -v a="${after:-0}" -v ok="$ok" -v f="$failed" -v h="$held" -v n="$n" 'BEGIN {
		printf "{\"conns\":%d,\"opened\":%d,\"failed\":%d,\"held_by_proxy\":%d,", n, ok, f, h
		printf "\"rss_before_kib\":%d,\"rss_after_kib\":%d,\"kib_per_conn\":%.3f}\n",
			b, a, ok ? (a - b) / ok : 0
	}'
}
