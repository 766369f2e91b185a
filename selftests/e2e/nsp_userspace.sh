#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# nsp_userspace.sh - network security policies enforced by the proxy itself
# when xadcd runs WITHOUT --interface (no XDP data plane): a denied client's
# connections are reset at accept and never reach the backend, an allowed
# client is served, a rate-limited client gets about rate*duration+burst
# served connections, status says "userspace", stats show the per-rule
# counters with enforced_by userspace, and each refusal has a request-log
# line naming the rule.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/netns.sh"

xt_require_e2e
command -v python3 >/dev/null || skip_all "python3 missing"
xt_init
xt_topology 1

ALLOWED=$CLIENT_IP
DENIED=$CLIENT_IP2
LIMITED=198.18.2.4
addr_add "$CLIENT_NS" eth0 "$LIMITED/24"
RATE=20
BURST=5

cat >"$XT_TMP/cfg.json" <<EOF
{"pool": [{"name": "web", "servers": [{"ip": "$(backend_ip 1)", "port": 8080}]}],
 "ipaddrgroup": [{"name": "blocked", "addrs": ["$DENIED"]}],
 "networksecuritypolicy": [{"name": "edge", "rules": [
   {"name": "deny-blocked", "index": 1,
    "action": "NETWORK_SECURITY_POLICY_ACTION_TYPE_DENY",
    "match": {"client_ip": {"match_criteria": "IS_IN",
              "group_refs": ["/api/ipaddrgroup?name=blocked"]}}},
   {"name": "limit-one", "index": 2,
    "action": "NETWORK_SECURITY_POLICY_ACTION_TYPE_RATE_LIMIT",
    "rl_param": {"max_rate": $RATE, "burst_size": $BURST},
    "match": {"client_ip": {"match_criteria": "IS_IN", "addrs": ["$LIMITED"]},
              "vs_port": {"match_criteria": "IS_IN", "ports": [80]}}},
   {"name": "allow-rest", "index": 3,
    "action": "NETWORK_SECURITY_POLICY_ACTION_TYPE_ALLOW"}]}],
 "virtualservice": [{"name": "vs", "vip": ["$VIP4"], "services": [{"port": 80}],
   "pool_ref": "/api/pool?name=web",
   "network_security_policy_ref": "/api/networksecuritypolicy?name=edge"}]}
EOF

xadcd_start || bail_out "xadcd did not start"
out=$(xadcctl_se apply -f "$XT_TMP/cfg.json" 2>&1)
ok $? "config with a network security policy applies without --interface"
[[ "$out" != *"not enforced"* ]]; ok $? "apply no longer warns the policy is not enforced"
like "$(cat "$XT_TMP/xadcd.log")" "network security policy edge enforced in userspace" \
	"xadcd logs that the policy is enforced in userspace"
is "$(xadcctl_se -j status | jq -r .xdp.nsp_enforced_by)" "userspace" "status: nsp_enforced_by userspace"
like "$(xadcctl_se status)" "enforced by: userspace" "xadcctl status says so"

rule() { xadcctl_se -j stats | jq -r ".xdp.virtualservices[] | select(.name==\"vs\") | .network_security_policy.rules[] | select(.name==\"$1\") | .$2"; }
vs_nsp() { xadcctl_se -j stats | jq -r ".xdp.virtualservices[] | select(.name==\"vs\") | .$1"; }

# ---- allowed and denied clients ------------------------------------------
wait_vip "http://$VIP4/" || bail_out "the VIP does not answer"
out=$(c_curl -s -o /dev/null -w '%{http_code}' --interface "$ALLOWED" "http://$VIP4/allowed-probe")
is "$out" 200 "allowed client served"
is "$(xt_access_count 1 'allowed-probe')" 1 "the backend logged the allowed client's request"

for i in 1 2 3 4 5; do
	out=$(c_curl -s -o /dev/null -w '%{http_code}' --max-time 3 \
		--interface "$DENIED" "http://$VIP4/denied-probe" 2>/dev/null)
	is "$out" "000" "denied client's connection $i gets no response"
done
out=$(c_curl -sS -o /dev/null --max-time 3 --interface "$DENIED" "http://$VIP4/denied-probe" 2>&1)
# The reset can reach curl before or after its connect() returns: curl then
# says "Couldn't connect" or "reset"/"Empty reply". Either way the rule's
# counters below prove the connection was accepted and refused by the NSP.
like "$out" "reset|Empty reply|Recv failure|Couldn't connect" "denied client's connection is reset"
is "$(xt_access_count 1 'denied-probe')" 0 "no request of the denied client reached the backend"
is "$(rule deny-blocked hits)" 6 "deny-blocked counted 6 hits"
is "$(rule deny-blocked drops)" 6 "deny-blocked counted 6 drops"
is "$(rule deny-blocked enforced_by)" "userspace" "rule counters say enforced_by userspace"
cmp_ok "$(vs_nsp drops)" -ge 6 "the VS's drop counter rose"
is "$(rule allow-rest allowed)" "$(rule allow-rest hits)" "allow-rest allowed everything it matched"
cmp_ok "$(rule allow-rest hits)" -ge 1 "allow-rest counted the allowed client"
sleep 1.5 # the request log is written by a background thread
is "$(grep "\"$DENIED\"" "$XT_TMP/req.log" | grep -c '"network_security_policy_rule_name":"deny-blocked"')" 6 \
	"one request-log line per refused connection, naming the rule"
out=$(xadcctl_se stats)
like "$out" "deny-blocked +userspace" "xadcctl stats lists the rule as enforced by userspace"

# ---- rate limit ------------------------------------------------------------
# Attempts at 4x the rate for DUR s, each a whole HTTP request; served ones
# are counted (a refused one is accepted by the kernel, then reset).
DUR=4
rl_count()
{
	c_exec python3 - "$LIMITED" "$VIP4" "$DUR" "$((RATE * 4))" <<'PY'
import socket, sys, time
src, vip, dur, rate = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
served, t0 = 0, time.monotonic()
nxt = t0
while time.monotonic() - t0 < dur:
    now = time.monotonic()
    if now < nxt:
        time.sleep(nxt - now)
    nxt += 1 / rate
    s = socket.socket()
    s.settimeout(1)
    try:
        s.bind((src, 0))
        s.connect((vip, 80))
        s.sendall(b"GET /limited-probe HTTP/1.0\r\nHost: x\r\n\r\n")
        if s.recv(12).startswith(b"HTTP/1.1 200"):
            served += 1
    except OSError:
        pass
    s.close()
print(served)
PY
}
n=$(rl_count)
expect=$((RATE * DUR + BURST))
note "rate-limited client: $n served in ${DUR}s (rate $RATE/s, burst $BURST: $expect)"
within "$n" "$expect" "$((expect / 5))" "rate limit admits rate*duration+burst within 20%"
cmp_ok "$(rule limit-one rate_limited)" -gt 0 "limit-one counts rate-limited connections"
is "$(rule limit-one allowed)" "$n" "limit-one's allowed counter matches the served connections"
is "$(xt_access_count 1 'limited-probe')" "$n" "only the admitted connections reached the backend"

# ---- a re-apply of the same policy keeps its counters ----------------------
h0=$(rule deny-blocked hits)
xt_apply "$XT_TMP/cfg.json" || diag "re-apply failed"
is "$(rule deny-blocked hits)" "$h0" "re-applying an unchanged policy keeps its counters"

xadcd_stop
done_testing
