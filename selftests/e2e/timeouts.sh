#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Timeouts and broken servers: 408 on a stalled client head, 504 on a
# server that never answers, a truncated response when the server dies
# mid-body, 502 when it closes before a byte, and a connect failure to one
# server retried on another.

. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"

xt_lab 1
B1=$(backend_ip 1)
DEAD=198.18.1.99
C="$XT_TMP/cfg.json"

xt_badserver hang "${BACKEND_NS[1]}" 8081 hang || xt_die "hang server"
xt_badserver mid "${BACKEND_NS[1]}" 8082 close_mid || xt_die "close_mid server"
xt_badserver early "${BACKEND_NS[1]}" 8083 close_early || xt_die "close_early server"

# pool NAME SERVERS / vs NAME PORT POOL: JSON members.
pool() { printf '{"name": "%s", "lb_algorithm": "LB_ALGORITHM_ROUND_ROBIN", "connect_timeout": 500, "server_timeout": 1000, "servers": [%s]}' "$1" "$2"; }
vs() { printf '{"name": "%s", "vip": [{"ip_address": {"addr": "%s", "type": "V4"}}], "services": [{"port": %s}], "pool_ref": "/api/pool?name=%s", "application_profile_ref": "/api/applicationprofile?name=xt-http"}' "$1" "$VIP4" "$2" "$3"; }
cat >"$C" <<JSON
{"applicationprofile": [{"name": "xt-http", "type": "APPLICATION_PROFILE_TYPE_HTTP",
   "http_profile": {"client_header_timeout": 1000, "keepalive_timeout": 5000}}],
 "pool": [$(pool web "$(xt_srv 0 1 8080 $DEAD),$(xt_srv 1)"),
	  $(pool hang "$(xt_srv 1 1 8081)"),
	  $(pool mid "$(xt_srv 1 1 8082)"),
	  $(pool early "$(xt_srv 1 1 8083)")],
 "virtualservice": [$(vs web-vs 80 web), $(vs hang-vs 81 hang), $(vs mid-vs 82 mid),
		    $(vs early-vs 83 early)]}
JSON
jq -e . "$C" >/dev/null || xt_die "test bug: config is not JSON"
xt_apply "$C" || xt_die "apply"
wait_vip "http://$VIP4/" 15 || xt_die "VIP never answered"

# --- client header timeout -----------------------------------------------
resp=$(xt_raw_str "$VIP4" 80 "GET / HTTP/1.1\r\nHost: x\r\nX-Half" 6)
is "$(xt_status "$resp")" 408 "stalled client head: 408 after client_header_timeout"
is "$(tail -n1 <<<"$resp")" "__EOF__" "stalled client head: connection closed"

# --- server timeout ------------------------------------------------------------
code=$(c_curl -o /dev/null -w '%{http_code}' "http://$VIP4:81/")
is "$code" 504 "server accepts but never answers: 504 after server_timeout"

# --- server closes mid-response ------------------------------------------------
c_curl -o "$XT_TMP/mid.out" "http://$VIP4:82/" 2>/dev/null
rc=$?
like "$rc" '^(18|56|52|92)$' "server dies mid-body: curl reports a broken transfer (exit 18/56)"
size=$(stat -c %s "$XT_TMP/mid.out" 2>/dev/null || echo 0)
cmp_ok "$size" -lt 100000 "server dies mid-body: the client did not get a full 100000-byte body"

# --- server closes before any byte ----------------------------------------------
code=$(c_curl -o /dev/null -w '%{http_code}' "http://$VIP4:83/")
is "$code" 502 "server closes before a byte: 502"

# --- connect failure retried on another server ---------------------------------
hits=$(xt_hits 10 "http://$VIP4/")
bad=$(grep -vx b1 <<<"$hits" | head -n3 | tr '\n' ' ')
is "$(grep -cx b1 <<<"$hits")" 10 "dead server $DEAD in the pool: all 10 GETs answered by b1 ${bad:+(other: $bad)}"

xadcd_alive
ok $? "xadcd still running"
done_testing
