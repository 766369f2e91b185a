#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh - `make demo`: a namespace lab (client, Service Engine, three
# nginx backends), examples/demo.json loaded through xadcctl, traffic with
# curl and wrk, statistics, status, the request log and a health drill.
# Everything is torn down on exit. Needs root; XADC_BUILD points at the
# build (make sets it).

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${XADC_BUILD:=$top/build}"
export XADC_BUILD
. "$top/selftests/lib/tap.sh"
. "$top/selftests/lib/netns.sh"

# The lib's skip_all speaks TAP; here a plain message is clearer.
skip_all() { echo "demo: cannot run: $1" >&2; exit 1; }
xt_die() { echo "demo: FAILED: $*" >&2; exit 1; }

section() { printf '\n\033[1m==== %s ====\033[0m\n' "$*"; }

# distribution N: N requests to the VIP, one line per backend with a count.
distribution()
{
	xt_hits "$1" "http://$VIP4/" | sort | uniq -c | awk '{printf "    %-4s %3d requests\n", $2, $1}'
}

show_servers()
{
	xadcctl_se -j status | jq -r '.pools[] | .name as $p | .servers[] |
		"    \($p)  \(.ip):\(.port)  \(.health)\(if .reason != "" then "  (" + .reason + ")" else "" end)"'
}

xt_require_e2e
XT_TIMEOUT=120
xt_init
start=$SECONDS

section "Lab: client ns, SE ns (VIP $VIP4), 3 nginx backends (198.18.1.2-4)"
xt_topology 3
ip netns list | grep "^$XT_PREFIX" | sed 's/^/    netns /'
xadcd_start || xt_die "xadcd did not start: $(tail -n 20 "$XT_TMP/xadcd.log")"
echo "    xadcd pid $XADCD_PID, API socket $XADC_SOCK"

section "Configuration: xadcctl apply -f examples/demo.json"
xadcctl_se apply -f "$top/examples/demo.json" || xt_die "apply failed"
for i in 1 2 3; do
	wait_state "$(backend_ip "$i")" 8080 UP 15 >/dev/null || xt_die "backend b$i never came up"
done
wait_vip "http://$VIP4/" || xt_die "VIP never answered"
show_servers

section "Traffic: 30 curl requests to http://$VIP4/ (backend from X-Backend)"
distribution 30

section "Load: wrk -t2 -c20 -d5s"
c_exec wrk -t 2 -c 20 -d 5 "http://$VIP4/" | sed 's/^/    /'

section "Per-server requests (xadcctl -j stats)"
xadcctl_se -j stats | jq -r '.pools[] | .name as $p | .servers[] |
	"    \($p)  \(.ip):\(.port)  requests \(.requests)  2xx \(.responses["2xx"])  bytes_out \(.bytes_out)"'

section "xadcctl stats"
xadcctl_se stats | sed 's/^/    /'

section "xadcctl status"
xadcctl_se status | sed 's/^/    /'

section "xadcctl logs -n 5"
xadcctl_se logs -n 5 | cut -c1-220 | sed 's/^/    /'

section "Health drill: b2's /health starts failing"
xt_health_down 2
echo "    touched the flip file; waiting for failed_checks (2 x 2 s)..."
wait_state "$(backend_ip 2)" 8080 DOWN 15 >/dev/null || echo "    b2 was not marked down!"
show_servers
echo "    12 requests now:"
distribution 12

section "Health drill: b2 recovers"
xt_health_up 2
wait_state "$(backend_ip 2)" 8080 UP 15 >/dev/null || echo "    b2 did not come back up!"
show_servers
echo "    12 requests now:"
distribution 12

section "Done in $((SECONDS - start)) s; tearing the lab down"
