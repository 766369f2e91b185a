# SPDX-License-Identifier: GPL-2.0
# netns.sh - the bench lab: three network namespaces joined by veth pairs.
#
#   cli (wrk, idle client)  198.18.0.1/24 ---- 198.18.0.2/24 + VIP 198.18.0.10  px (proxies)
#   cli                     198.18.2.1/24 ---- 198.18.2.2/24                   be (backend)
#   px                      198.18.1.1/24 ---- 198.18.1.2/24                   be
#
# The direct cli<->be link lets the harness measure the backend without a
# proxy and without routing through px, so the baseline costs the same
# kernel path as the proxied runs minus the proxy. Links are created
# inside the namespaces (never in the host's), so nothing of the host's
# is touched, and deleting the namespaces removes them.

BENCH_PIDS=()

NS_CLI="xb$$-cli"
NS_PX="xb$$-px"
NS_BE="xb$$-be"

VIP=198.18.0.10
CLI_PX_ADDR=198.18.0.1
PX_CLI_ADDR=198.18.0.2
PX_BE_ADDR=198.18.1.1
BE_PX_ADDR=198.18.1.2
CLI_BE_ADDR=198.18.2.1
BE_CLI_ADDR=198.18.2.2
BE_PORT=8080

# lab_up: create the namespaces, links, addresses and per-namespace sysctls.
lab_up()
{
	local ns
	for ns in "$NS_CLI" "$NS_PX" "$NS_BE"; do
		ip netns add "$ns" || return 1
		ip -n "$ns" link set lo up
	done
	ip -n "$NS_CLI" link add c-px type veth peer name px-c netns "$NS_PX" || return 1
	ip -n "$NS_PX" link add px-be type veth peer name be-px netns "$NS_BE" || return 1
	ip -n "$NS_CLI" link add c-be type veth peer name be-c netns "$NS_BE" || return 1

	ip -n "$NS_CLI" addr add "$CLI_PX_ADDR/24" dev c-px
	ip -n "$NS_CLI" addr add "$CLI_BE_ADDR/24" dev c-be
	ip -n "$NS_PX" addr add "$PX_CLI_ADDR/24" dev px-c
	ip -n "$NS_PX" addr add "$VIP/32" dev px-c
	ip -n "$NS_PX" addr add "$PX_BE_ADDR/24" dev px-be
	ip -n "$NS_BE" addr add "$BE_PX_ADDR/24" dev be-px
	ip -n "$NS_BE" addr add "$BE_CLI_ADDR/24" dev be-c
	ip -n "$NS_CLI" link set c-px up
	ip -n "$NS_CLI" link set c-be up
	ip -n "$NS_PX" link set px-c up
	ip -n "$NS_PX" link set px-be up
	ip -n "$NS_BE" link set be-px up
	ip -n "$NS_BE" link set be-c up

	# Connection: close runs open tens of thousands of connections from
	# one address: give every namespace the widest port range and let
	# clients reuse TIME_WAIT ports (these sysctls are per namespace).
	for ns in "$NS_CLI" "$NS_PX" "$NS_BE"; do
		ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
		ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1
		ip netns exec "$ns" sysctl -qw net.core.somaxconn=4096
		ip netns exec "$ns" sysctl -qw net.ipv4.tcp_max_syn_backlog=4096
	done
	ip netns exec "$NS_CLI" ping -q -c1 -W2 "$VIP" >/dev/null &&
		ip netns exec "$NS_CLI" ping -q -c1 -W2 "$BE_CLI_ADDR" >/dev/null &&
		ip netns exec "$NS_PX" ping -q -c1 -W2 "$BE_PX_ADDR" >/dev/null
}

# lab_down: stop every process the harness started (by pid), then delete
# the namespaces. Safe to call twice and with a half-built lab.
lab_down()
{
	local pid ns i
	for pid in "${BENCH_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${BENCH_PIDS[@]}"; do
		for i in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	BENCH_PIDS=()
	for ns in "$NS_CLI" "$NS_PX" "$NS_BE"; do
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}

# forget_pid PID: drop a pid the harness stopped itself.
forget_pid()
{
	local keep=() p
	for p in "${BENCH_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	BENCH_PIDS=("${keep[@]}")
}

# wait_listen NS PORT: up to 10 s for a TCP listener on PORT in NS.
wait_listen()
{
	local i
	for i in $(seq 100); do
		if ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q .; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
