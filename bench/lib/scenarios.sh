# SPDX-License-Identifier: GPL-2.0
# scenarios.sh - the list of measured scenarios, one function each.
#
# A scenario is registered with add_scenario NAME KIND "DESCRIPTION" and
# implemented by scenario_NAME TARGET, which prints one JSON object (no
# newline inside) with its figures.
#   KIND rate: run in interleaved rounds over every contender and the
#              backend directly ("direct"); must print "rps".
#   KIND mem:  run once per proxy contender on a fresh process.
#   KIND cost: like rate, over SCN_TARGETS[NAME] (each variant next to
#              the plain contender it is compared with), no direct run;
#              the report gives each variant's cost in % of req/s.
#   KIND xdp:  scenario_NAME prints one JSON line per program, size, case
#              and round (bench/xdp/bench_xdp.c testrun).
#   KIND drop: scenario_NAME FILTER for every filter in DROP_FILTERS,
#              interleaved over the rounds; prints one JSON object.

SCENARIOS=()
declare -A SCN_KIND SCN_DESC SCN_TARGETS

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
add_scenario policy_c10 cost "10 HTTP policy rules, one over a 100,000-entry string group (keep-alive, 0 B, 10 connections)"
SCN_TARGETS[policy_c10]="xadcd xadcd_pol haproxy haproxy_pol"
add_scenario datascript_c10 cost "DataScript: header looked up in a 10,000-entry string group, header added (keep-alive, 0 B, 10 connections)"
SCN_TARGETS[datascript_c10]="xadcd xadcd_ds haproxy haproxy_ds"
add_scenario xdp_testrun xdp "XDP per-packet cost (BPF_PROG_TEST_RUN)"
add_scenario xdp_drop drop "live SYN flood over veth: packets per second dropped or processed"

scenario_ka_0b_c10() { wrk_measure "$1" /0 10; }
scenario_ka_0b_c100() { wrk_measure "$1" /0 100; }
scenario_ka_1k_c10() { wrk_measure "$1" /1k 10; }
scenario_ka_1k_c100() { wrk_measure "$1" /1k 100; }
scenario_close_0b_c50() { wrk_measure "$1" /0 50 'Connection: close'; }
scenario_idle_mem() { idle_mem_measure "$1" "$BENCH_MEM_CONNS"; }
# The same request for the variant and its plain contender: the header
# the DataScript looks up is sent to both.
scenario_policy_c10() { wrk_measure "$1" /0 10; }
scenario_datascript_c10() { wrk_measure "$1" /0 10 "X-Tenant: $DS_TENANT"; }
scenario_xdp_testrun() { xdp_testrun_measure; }
scenario_xdp_drop() { drop_measure "$1"; }

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

# idle_mem_measure TARGET N: fresh proxy, 2 s of keep-alive traffic (so
# structures bounded per process, not per connection, are at their steady
# size: xadcd's 10,000-line log history and log ring, allocator arenas,
# pools), RSS; then N idle keep-alive clients (each after one answered
# request), RSS again. The difference is what the connections cost.
idle_mem_measure()
{
	local t=$1 n=$2 st="$DIR/idle-$1.status" cpid before after held i r
	local ok=0 failed=0 host=${T_URL[$1]#http://}

	if ! restart_target "$t" 2>>"$DIR/errors.log"; then
		echo '{"error":"restart failed"}'
		return 1
	fi
	http_check "${T_URL[$t]}/0" 0 || true
	ip netns exec "$NS_CLI" nice -n "$BENCH_NICE" taskset -c "$CPU_LOAD" \
		wrk -t1 -c10 -d2s "${T_URL[$t]}/0" >/dev/null 2>&1 || true
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

# ---- XDP ----

# XDP_NS: the namespace of the per-packet scenario (xdp_lab_up).
XDP_NS="xb$$-xdp"
DROP_FILTERS="none nft xdp"
DROP_PORT=9000		# nothing listens there: the stack answers a SYN with a reset

# xdp_testrun_measure: bench_xdp testrun in XDP_NS, xdp-filter loaded on
# one end of a veth pair there (without libxdp's dispatcher, so the
# program attached is xdp-filter's own) with the first denied address
# added by xdp-filter itself. bpffs is mounted in this command's own
# mount namespace (ip netns exec gives each command a private one), so
# xdp-filter's pins vanish with it. Pinned to CPU_PROXY.
xdp_testrun_measure()
{
	ip netns exec "$XDP_NS" nice -n "$BENCH_NICE" sh -c '
		mount -t bpf bpf /sys/fs/bpf || exit 1
		LIBXDP_SKIP_DISPATCHER=1 xdp-filter load -m native -f ipv4 xf0 >&2 || exit 1
		xdp-filter ip "$("$1" addr 0)" -m src >&2 || exit 1
		taskset -c "$2" "$1" testrun -r "$3" -n "$4" -f xf0 -t xf1
		rc=$?
		xdp-filter unload xf0 >&2
		exit $rc' sh "$BENCH_XDP" "$CPU_PROXY" "$BENCH_XDP_REPEAT" "$BENCH_RUNS"
}

# xdp_lab_up: XDP_NS with the veth pair xf0-xf1 (xdp-filter's program is
# attached to xf0; xf1 is the interface the test's remote SE is behind).
xdp_lab_up()
{
	ip netns add "$XDP_NS" || return 1
	ip -n "$XDP_NS" link add xf0 type veth peer name xf1 &&
		ip -n "$XDP_NS" link set xf0 up && ip -n "$XDP_NS" link set xf1 up
}

xdp_lab_down()
{
	ip netns del "$XDP_NS" 2>/dev/null
	return 0
}

# snmp_tcp FIELD: a Tcp counter of /proc/net/snmp in the px namespace.
snmp_tcp()
{
	ip netns exec "$NS_PX" awk -v f="$1" '
		$1 == "Tcp:" && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
		$1 == "Tcp:" && h { print $col[f]; exit }' /proc/net/snmp
}

# nft_count: packets counted by the bench's netdev drop rule.
nft_count()
{
	ip netns exec "$NS_PX" nft list chain netdev xbench ingress 2>/dev/null |
		sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | head -1
}

# drop_filter_up FILTER: the filter on px-c (the proxy side of the client
# link). xdp: bench_xdp hold, attached natively, started in the background.
drop_filter_up()
{
	local i
	case $1 in
	nft)
		printf '%s\n' "table netdev xbench {" \
			"	chain ingress {" \
			"		type filter hook ingress device \"px-c\" priority 0; policy accept;" \
			"		ip daddr $VIP tcp dport $DROP_PORT counter drop" \
			"	}" "}" | ip netns exec "$NS_PX" nft -f -
		;;
	xdp)
		: >"$DIR/xdp-hold.out"
		ip netns exec "$NS_PX" nice -n "$BENCH_NICE" "$BENCH_XDP" hold px-c "$VIP" "$DROP_PORT" \
			"$CLI_PX_ADDR/32" >"$DIR/xdp-hold.out" 2>>"$DIR/errors.log" &
		HOLD_PID=$!
		BENCH_PIDS+=("$HOLD_PID")
		for i in $(seq 100); do
			grep -q ready "$DIR/xdp-hold.out" && return 0
			kill -0 "$HOLD_PID" 2>/dev/null || break
			sleep 0.1
		done
		return 1
		;;
	esac
}

# drop_measure FILTER: flood VIP:DROP_PORT with SYNs from the client
# namespace for BENCH_DROP_DURATION seconds with the filter in place, and
# count what the filter dropped (xdp: the VS's drop counter; nft: the
# rule's counter) or the stack handled (none: TCP segments received in
# the px namespace). The sender runs on CPU_LOAD; on veth the receive
# side runs in the sender's softirq, on the same CPU (METHOD.md).
drop_measure()
{
	local f=$1 mac out handled=0 before=0 c0 c1

	mac=$(ip netns exec "$NS_PX" cat /sys/class/net/px-c/address)
	[ "$f" = none ] && before=$(snmp_tcp InSegs)
	if ! drop_filter_up "$f"; then
		echo "{\"error\":\"could not set up the $f filter (see errors.log)\"}"
		return 1
	fi
	c0=$(cpu_ticks)
	out=$(ip netns exec "$NS_CLI" nice -n "$BENCH_NICE" taskset -c "$CPU_LOAD" \
		"$XDP_FLOOD" c-px "$mac" "$CLI_PX_ADDR" "$VIP" "$DROP_PORT" "$BENCH_DROP_DURATION" 2>&1 |
		tail -1)
	c1=$(cpu_ticks)
	sleep 0.2	# let the receiver drain its queue
	case $f in
	none)
		handled=$(( $(snmp_tcp InSegs) - before ))
		;;
	nft)
		handled=$(nft_count)
		ip netns exec "$NS_PX" nft delete table netdev xbench
		;;
	xdp)
		kill -TERM "$HOLD_PID" 2>/dev/null
		wait "$HOLD_PID" 2>/dev/null
		forget_pid "$HOLD_PID"
		handled=$(sed -n 's/.*"drops":\([0-9]*\).*/\1/p' "$DIR/xdp-hold.out")
		;;
	esac
	if ! jq -e .sent <<<"$out" >/dev/null 2>&1; then
		printf '%s\n' "$out" >&2
		echo '{"error":"xdp_flood printed no result"}'
		return 1
	fi
	jq -c --argjson h "${handled:-0}" --arg c0 "$c0" --arg c1 "$c1" '
		($c0 | split(" ") | map(tonumber)) as $a | ($c1 | split(" ") | map(tonumber)) as $b |
		. + {handled: $h, handled_pps: ($h / .seconds),
		     cpu_proxy_busy: (if $b[1] > $a[1] then ($b[0] - $a[0]) / ($b[1] - $a[1]) else 0 end),
		     cpu_load_busy: (if $b[3] > $a[3] then ($b[2] - $a[2]) / ($b[3] - $a[3]) else 0 end)}' <<<"$out"
}
