#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Re-applying the configuration 20 times under load (wrk -c 50) loses no
# request: no socket errors, no non-2xx, and both configurations served.

. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"

xt_require_e2e
command -v wrk >/dev/null || bail_out "wrk not installed (make deps)"
xt_init
xt_topology 3
xadcd_start || xt_die "xadcd did not start"
URL="http://$VIP4/"
# Config A: b1 + b2; config B: b2 + b3 (ratio 2). Both keep the VIP.
xt_web_config "$XT_TMP/a.json" "$(xt_srv 1),$(xt_srv 2)" '"lb_algorithm": "LB_ALGORITHM_ROUND_ROBIN"'
xt_web_config "$XT_TMP/b.json" "$(xt_srv 2),$(xt_srv 3 2)" '"lb_algorithm": "LB_ALGORITHM_ROUND_ROBIN"'
xt_apply "$XT_TMP/a.json" || xt_die "apply a"
wait_vip "$URL" || xt_die "VIP never answered"

xt_bg wrk "$CLIENT_NS" wrk -t 2 -c 50 -d 15 --timeout 5 "$URL" >"$XT_TMP/wrk.out" 2>&1
wrkpid=$XT_LASTPID
sleep 1
applied=0
for i in $(seq 1 20); do
	if [ $((i % 2)) -eq 1 ]; then f=b; else f=a; fi
	xt_apply "$XT_TMP/$f.json" && applied=$((applied + 1))
	sleep 0.5
done
is "$applied" 20 "20 applies accepted while wrk runs"
wait "$wrkpid"
rm -f "$XT_TMP/pids/wrk.pid"
out=$(cat "$XT_TMP/wrk.out")
note "$out"
reqs=$(grep -oE '^ *[0-9]+ requests in' <<<"$out" | grep -oE '[0-9]+')
cmp_ok "${reqs:-0}" -gt 1000 "wrk completed requests through the reloads"
is "$(grep -E 'Socket errors' <<<"$out")" "" "wrk: zero socket errors"
is "$(grep -E 'Non-2xx' <<<"$out")" "" "wrk: zero non-2xx responses"

wait_for 5 test -s "$XT_TMP/req.log"
n1=$(grep -c "\"$(backend_ip 1)" "$XT_TMP/req.log")
n3=$(grep -c "\"$(backend_ip 3)" "$XT_TMP/req.log")
cmp_ok "$n1" -gt 0 "request log: requests served by b1 (config A only)"
cmp_ok "$n3" -gt 0 "request log: requests served by b3 (config B only)"

xadcd_alive
ok $? "xadcd still running"
done_testing
