#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# xdp_daemon_nsp.sh - network security policies enforced by xadcd's XDP
# data plane (--interface on the SE's client-facing veth), configured
# through the API: a denied client is dropped before the proxy (XDP
# counter up, proxy counters and request log untouched), an allowed one is
# served, a rate-limited one gets rate*duration (+burst) new connections
# within 10%, a policy update under traffic fails no request, drop events
# name the rule, --keep-dataplane keeps pins and enforcement across a
# restart, xadcctl unload (with and without the daemon) leaves nothing.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/netns.sh"

xt_require_e2e
command -v python3 >/dev/null || skip_all "python3 missing"
xt_init
xt_topology 1

# Pins on a bpffs of the test's own, so they outlive one daemon's mount
# namespace (ip netns exec gives each process a new one).
mkdir -p "$XT_TMP/bpffs"
mount -t bpf bpf "$XT_TMP/bpffs" || skip_all "cannot mount bpffs"
export XADC_XDP_PIN_DIR=$XT_TMP/bpffs/xadc
cleanup_bpffs()
{
	ip netns exec "$SE_NS" "$XADC_BUILD/xadcd" --xdp-unload >/dev/null 2>&1
	umount "$XT_TMP/bpffs" 2>/dev/null
}
trap 'cleanup_bpffs; xt_cleanup' EXIT

# unlike GOT RE DESC
unlike()
{
	if [[ "$1" =~ $2 ]]; then
		ok 1 "$3"
		diag "  '${1:0:500}' matches '$2'"
		return 1
	fi
	ok 0 "$3"
}

DENIED=198.18.2.3
LIMITED=198.18.2.4
addr_add "$CLIENT_NS" eth0 "$LIMITED/24"
RATE=50
BURST=5

config() # RATE
{
	cat <<EOF
{"pool": [{"name": "web", "servers": [{"ip": "$(backend_ip 1)", "port": 8080}]}],
 "ipaddrgroup": [{"name": "blocked", "addrs": ["$DENIED"]}],
 "networksecuritypolicy": [{"name": "edge", "rules": [
   {"name": "deny-blocked", "index": 1, "enable": true,
    "action": "NETWORK_SECURITY_POLICY_ACTION_TYPE_DENY",
    "match": {"client_ip": {"match_criteria": "IS_IN",
              "group_refs": ["/api/ipaddrgroup?name=blocked"]}}},
   {"name": "limit-one", "index": 2,
    "action": "NETWORK_SECURITY_POLICY_ACTION_TYPE_RATE_LIMIT",
    "rl_param": {"max_rate": $1, "burst_size": $BURST},
    "match": {"client_ip": {"match_criteria": "IS_IN", "addrs": ["$LIMITED"]},
              "vs_port": {"match_criteria": "IS_IN", "ports": [80]}}},
   {"name": "allow-rest", "index": 3,
    "action": "NETWORK_SECURITY_POLICY_ACTION_TYPE_ALLOW"}]}],
 "virtualservice": [{"name": "vs", "vip": ["$VIP4"], "services": [{"port": 80}],
   "pool_ref": "/api/pool?name=web",
   "network_security_policy_ref": "/api/networksecuritypolicy?name=edge"}]}
EOF
}
config "$RATE" >"$XT_TMP/cfg.json"

xadcd_start --interface eth0 --keep-dataplane -c "$XT_TMP/cfg.json" ||
	bail_out "xadcd did not start"
like "$(cat "$XT_TMP/xadcd.log")" "attached to eth0 in (native|generic) mode" \
	"xadcd logs the XDP attach mode"
like "$(ip -n "$SE_NS" -d link show eth0)" "xdp" "eth0 has an XDP program"
[ -e $XADC_XDP_PIN_DIR/xadc_vips ]; ok $? "maps pinned"
st=$(xadcctl_se -j status)
is "$(jq -r .xdp.nsp_enforced_by <<<"$st")" "xdp" "status: the NSP is enforced by XDP"
like "$(xadcctl_se status)" "enforced by: xdp" "xadcctl status says where the NSP is enforced"

xdp_vs() { xadcctl_se -j stats | jq -r ".xdp.virtualservices[] | select(.name==\"vs\") | .$1"; }
rule() { xadcctl_se -j stats | jq -r ".xdp.virtualservices[0].network_security_policy.rules[] | select(.name==\"$1\") | .$2"; }
proxy_conns() { xadcctl_se -j stats | jq -r '.virtualservices[] | select(.name=="vs") | .connections'; }

# ---- allowed and denied clients ------------------------------------------
wait_vip "http://$VIP4/" || bail_out "the VIP does not answer the allowed client"
out=$(c_curl -s -o /dev/null -w '%{http_code}' --interface "$CLIENT_IP" "http://$VIP4/")
is "$out" 200 "allowed client served"

conns0=$(proxy_conns)
drops0=$(xdp_vs drops)
out=$(c_curl -s -o /dev/null -w '%{http_code}' --connect-timeout 2 --max-time 3 \
	--interface "$DENIED" "http://$VIP4/" 2>/dev/null)
is "$out" "000" "denied client cannot connect"
cmp_ok "$(xdp_vs drops)" -gt "$drops0" "XDP drop counter of the VS rose"
cmp_ok "$(rule deny-blocked drops)" -gt 0 "per-rule counter of deny-blocked rose"
is "$(proxy_conns)" "$conns0" "the proxy saw no connection from the denied client"
is "$(grep -c "\"$DENIED\"" "$XT_TMP/req.log")" 0 "no request-log line for the denied client"
sleep 0.3
ev=$(xadcctl_se -j xdp events)
is "$(jq -r "[.events[] | select(.client_ip==\"$DENIED\")][0].network_security_policy_rule_name" <<<"$ev")" \
	"deny-blocked" "drop event names the rule"
like "$(xadcctl_se xdp events)" "deny .*client=$DENIED.*rule=deny-blocked" "xadcctl xdp events shows it"
like "$(xadcctl_se stats)" "deny-blocked" "xadcctl stats shows per-rule XDP counters"

# ---- rate limit ------------------------------------------------------------
# Attempts at 4x the rate for DUR s, each SYN given 0.4 s (the kernel's
# first retransmit is at 1 s, so a dropped SYN stays dropped).
DUR=4
rl_count()
{
	c_exec python3 - "$LIMITED" "$VIP4" "$DUR" "$((RATE * 4))" <<'PY'
import socket, select, sys, time, errno
src, vip, dur, rate = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
pending, ok, t0 = {}, 0, time.monotonic()
nxt = t0
while True:
    now = time.monotonic()
    if now - t0 < dur and now >= nxt:
        s = socket.socket(); s.setblocking(False); s.bind((src, 0))
        try: s.connect((vip, 80))
        except BlockingIOError: pass
        pending[s] = now; nxt += 1 / rate
    if now - t0 >= dur and not pending: break
    _, w, _ = select.select([], list(pending), [], 0.002)
    for s in w:
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0: ok += 1
        s.close(); del pending[s]
    for s, t in list(pending.items()):
        if now - t > 0.4: s.close(); del pending[s]
print(ok)
PY
}
sleep 1 # the bucket refills to its burst
n=$(rl_count)
expect=$((RATE * DUR + BURST))
note "rate-limited client: $n connections in ${DUR}s (rate $RATE/s, burst $BURST: $expect)"
within "$n" "$expect" "$((expect / 10))" "rate limit admits rate*duration+burst within 10%"
cmp_ok "$(rule limit-one rate_limited)" -gt 0 "limit-one counts rate-limited SYNs"

# ---- atomic update under traffic ------------------------------------------
c_exec bash -c "fails=0; for i in \$(seq 150); do curl -s -o /dev/null --max-time 3 -f \
	--interface $CLIENT_IP http://$VIP4/ || fails=\$((fails+1)); done; echo \$fails" \
	>"$XT_TMP/fails" &
load=$!
for r in 10 20 30 40 60 70 80 90; do
	config "$r" >"$XT_TMP/cfg2.json"
	xt_apply "$XT_TMP/cfg2.json" || break
done
wait "$load"
is "$(cat "$XT_TMP/fails")" 0 "allowed client: no error during 8 policy updates"
out=$(c_curl -s -o /dev/null -w '%{http_code}' --connect-timeout 1 --max-time 2 \
	--interface "$DENIED" "http://$VIP4/" 2>/dev/null)
is "$out" "000" "denied client still denied after the updates"
gen=$(ip netns exec "$SE_NS" bpftool -j map dump pinned "$XADC_XDP_PIN_DIR/xadc_nsp_gen" 2>/dev/null |
	jq '[.[] | (.formatted.value // .value) | numbers] | max')
note "policy generation after the updates: $gen"

# A rejected change changes nothing (65 rules).
python3 - "$XT_TMP/cfg2.json" >"$XT_TMP/bad.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["networksecuritypolicy"][0]["rules"] = [{"name": "r%d" % i, "index": i,
    "action": "NETWORK_SECURITY_POLICY_ACTION_TYPE_ALLOW"} for i in range(65)]
print(json.dumps(d))
PY
out=$(xadcctl_se apply -f "$XT_TMP/bad.json" 2>&1)
like "$out" "networksecuritypolicy\[edge\].rules: too many enabled rules" "65 rules refused with a path"
out=$(c_curl -s -o /dev/null -w '%{http_code}' --connect-timeout 1 --max-time 2 \
	--interface "$DENIED" "http://$VIP4/" 2>/dev/null)
is "$out" "000" "after the refused change the deny still holds"

# ---- restart with --keep-dataplane -----------------------------------------
pk0=$(xdp_vs packets)
xadcd_stop
[ -e $XADC_XDP_PIN_DIR/xadc_vips ]; ok $? "--keep-dataplane: pins stay after exit"
like "$(ip -n "$SE_NS" -d link show eth0)" "xdp" "--keep-dataplane: program stays attached"
out=$(c_curl -s -o /dev/null -w '%{http_code}' --connect-timeout 1 --max-time 2 \
	--interface "$DENIED" "http://$VIP4/" 2>/dev/null)
is "$out" "000" "the deny is enforced while xadcd is down"
xadcd_start --interface eth0 || bail_out "xadcd did not restart"
like "$(tail -n 30 "$XT_TMP/xadcd.log")" "replacing the XDP program a previous xadcd left on eth0" \
	"restart replaces the program and reuses the pins"
cmp_ok "$(xdp_vs packets)" -ge "$pk0" "VS counters survived the restart (pinned)"
wait_vip "http://$VIP4/" || diag "VIP not answering after restart"
out=$(c_curl -s -o /dev/null -w '%{http_code}' --interface "$CLIENT_IP" "http://$VIP4/")
is "$out" 200 "allowed client served after restart"

# ---- xadcctl unload through the daemon ---------------------------------------
xadcctl_se unload >/dev/null
[ ! -e $XADC_XDP_PIN_DIR ]; ok $? "unload: no pins"
unlike "$(ip -n "$SE_NS" -d link show eth0)" "xdp" "unload: no XDP program on eth0"
is "$(xadcctl_se -j status | jq -r .xdp.nsp_enforced_by)" "userspace" "status: NSP enforced in userspace after unload"

# ---- a plain stop leaves the host as it was ----------------------------------
xadcd_stop
xadcd_start --interface eth0 || bail_out "xadcd did not start"
like "$(ip -n "$SE_NS" -d link show eth0)" "xdp" "attached again"
xadcd_stop
[ ! -e $XADC_XDP_PIN_DIR ]; ok $? "stop without --keep-dataplane: no pins"
unlike "$(ip -n "$SE_NS" -d link show eth0)" "xdp" "stop without --keep-dataplane: detached"

# ---- xadcctl unload without a daemon -----------------------------------------
xadcd_start --interface eth0 --keep-dataplane || bail_out "xadcd did not start"
xadcd_stop
like "$(ip -n "$SE_NS" -d link show eth0)" "xdp" "kept after exit"
xadcctl_se unload >/dev/null 2>&1
[ ! -e $XADC_XDP_PIN_DIR ]; ok $? "unload without xadcd: no pins"
unlike "$(ip -n "$SE_NS" -d link show eth0)" "xdp" "unload without xadcd: detached"

# ---- no --interface: never silently ignored ----------------------------------
xadcd_start || bail_out "xadcd did not start"
out=$(xadcctl_se apply -f "$XT_TMP/cfg.json" 2>&1)
unlike "$out" "not enforced" "apply does not warn: the proxy enforces the NSP without --interface"
is "$(xadcctl_se -j status | jq -r .xdp.nsp_enforced_by)" "userspace" \
	"status says the NSP is enforced in userspace"
like "$(xadcctl_se -j status | jq -r .xdp.nsp_enforced_why)" "without --interface" "status says why"
xadcd_stop

done_testing
