#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The request log: one JSON line per request with every documented field,
# `xadcctl logs`, and `xadcctl stats` counting what was sent.

. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"

xt_lab 2
URL="http://$VIP4/"
LOG="$XT_TMP/req.log"
xt_web_config "$XT_TMP/cfg.json" "$(xt_srv 1),$(xt_srv 2)" '"lb_algorithm": "LB_ALGORITHM_ROUND_ROBIN"'
xt_apply "$XT_TMP/cfg.json" || xt_die "apply"
wait_vip "$URL" || xt_die "VIP never answered"

vs_requests() { xadcctl_se -j stats | jq '[.virtualservices[] | select(.name == "web-vs") | .requests] | add // 0'; }
srv_requests() { xadcctl_se -j stats | jq '[.pools[] | select(.name == "web") | .servers[].requests] | add // 0'; }
log_lines() { if [ -f "$LOG" ]; then wc -l <"$LOG"; else echo 0; fi; }
# log_has N: the log file holds at least N lines (re-counted on each try:
# wait_for runs it repeatedly).
log_has() { [ "$(log_lines)" -ge "$1" ]; }
# Let the wait_vip requests reach the log before counting.
wait_for 5 log_has 1
sleep 0.5
l0=$(log_lines)
v0=$(vs_requests)
s0=$(srv_requests)

N=12
xt_hits 10 "$URL" >/dev/null
c_curl -o /dev/null "${URL}echo?marker=one" -H 'User-Agent: xt-agent'
c_curl -o /dev/null -X POST -d 'hello' "${URL}echo?marker=two"

wait_for 5 log_has $((l0 + N))
is "$(($(log_lines) - l0))" "$N" "request log: one line per request ($N requests)"
bad=$(tail -n +"$((l0 + 1))" "$LOG" | while IFS= read -r l; do jq -e . <<<"$l" >/dev/null 2>&1 || echo x; done | wc -l)
is "$bad" 0 "request log: every line is valid JSON"
FIELDS='["time","client_ip","client_port","virtualservice","method","uri","status","pool","server","bytes_in","bytes_out","t_client_ms","t_connect_ms","t_server_ms","t_total_ms","termination"]'
missing=$(tail -n +"$((l0 + 1))" "$LOG" | jq -r --argjson f "$FIELDS" '. as $l | $f[] | select($l | has(.) | not)' 2>/dev/null | sort -u | tr '\n' ' ')
is "$missing" "" "request log: every line has all the documented fields"
one=$(grep 'marker=one' "$LOG" | tail -n1)
is "$(jq -r '[.client_ip, .virtualservice, .method, .uri, .status, .pool] | map(tostring) | join(" ")' <<<"$one")" \
	"$CLIENT_IP web-vs GET /echo?marker=one 200 web" "request log: fields of a GET carry the right values"
like "$(jq -r .server <<<"$one")" '198\.18\.1\.[23]' "request log: server names the backend address"
two=$(grep 'marker=two' "$LOG" | tail -n1)
is "$(jq -r .method <<<"$two")" POST "request log: a POST is logged as POST"
cmp_ok "$(jq -r '.bytes_in | floor' <<<"$two")" -gt 5 "request log: bytes_in counts the POST head and body"
cmp_ok "$(jq -r '.bytes_out | floor' <<<"$one")" -gt 0 "request log: bytes_out counted"

logs=$(xadcctl_se logs -n 5)
is "$(grep -c . <<<"$logs")" 5 "xadcctl logs -n 5 shows 5 lines"
like "$logs" 'marker=two' "xadcctl logs -n 5 includes the newest request"

is "$(($(vs_requests) - v0))" "$N" "xadcctl stats: the virtual service counted $N more requests"
is "$(($(srv_requests) - s0))" "$N" "xadcctl stats: the pool's servers counted $N more requests"
out=$(xadcctl_se stats)
ok $? "xadcctl stats (text) exits 0"
like "$out" 'web-vs' "xadcctl stats (text) names the virtual service"

xadcd_alive
ok $? "xadcd still running"
done_testing
