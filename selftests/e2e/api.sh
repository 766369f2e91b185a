#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The REST API as an operator uses it: CRUD over the unix socket, clear
# errors that change nothing, persistence across a restart, the TCP
# listener's bearer token, and xadcctl's JSON output and exit codes.

. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"

xt_require_e2e
xt_init
xt_topology 2
TOKEN="xt-token-$$"
xadcd_start --api-listen 127.0.0.1:9180 --api-token "$TOKEN" || xt_die "xadcd did not start"
A=http://xadc/api

# req METHOD PATH [JSON]: sets CODE and BODY.
req()
{
	local out
	if [ -n "${3:-}" ]; then
		out=$(api_curl -X "$1" -H 'Content-Type: application/json' -d "$3" -w '\n%{http_code}' "$A$2")
	else
		out=$(api_curl -X "$1" -w '\n%{http_code}' "$A$2")
	fi
	CODE=$(tail -n1 <<<"$out")
	BODY=$(sed '$d' <<<"$out")
}

is "$(stat -c %a "$XADC_SOCK")" 600 "the unix API socket is mode 0600"

# --- create / get ----------------------------------------------------------
req POST /pool "{\"name\": \"web\", \"lb_algorithm\": \"LB_ALGORITHM_ROUND_ROBIN\", \"servers\": [$(xt_srv 1)]}"
is "$CODE" 201 "POST /api/pool creates pool web"
like "$(jq -r .uuid <<<"$BODY")" '^pool-' "the created pool got a pool-<uuid>"
req POST /virtualservice "{\"name\": \"web-vs\", \"vip\": [{\"ip_address\": {\"addr\": \"$VIP4\", \"type\": \"V4\"}}], \"services\": [{\"port\": 80}], \"pool_ref\": \"/api/pool?name=web\"}"
is "$CODE" 201 "POST /api/virtualservice creates web-vs"
req GET /pool/web
is "$CODE/$(jq -r .name <<<"$BODY")" "200/web" "GET /api/pool/web returns it"
req GET '/pool?name=web'
is "$(jq -r .count <<<"$BODY")" 1 "GET /api/pool?name=web lists one"
wait_vip "http://$VIP4/" || diag "VIP never answered"
is "$(xt_hits 4 "http://$VIP4/" | sort -u | tr '\n' ' ')" "b1 " "traffic flows to the one server"

# --- patch -------------------------------------------------------------------
req PATCH /pool/web "{\"servers\": [$(xt_srv 1), $(xt_srv 2)]}"
is "$CODE" 200 "PATCH /api/pool/web adds a server"
req GET /pool/web
is "$(jq '.servers | length' <<<"$BODY")" 2 "the pool now has 2 servers"
is "$(xt_hits 10 "http://$VIP4/" | sort -u | tr '\n' ' ')" "b1 b2 " "traffic now reaches both servers"

# --- errors change nothing -------------------------------------------------
before=$(api_curl "$A/configuration" | jq -S .)
req PATCH /pool/web '{"servers": [{"ip": {"addr": "198.18.1.2", "type": "V4"}, "port": 70000}]}'
is "$CODE" 400 "a bad port is refused with 400"
like "$BODY" '"pool\[web\]\.servers\[0\]\.port' "the error names pool[web].servers[0].port"
req POST /pool "{\"name\": \"web\", \"servers\": [$(xt_srv 1)]}"
is "$CODE" 409 "creating a duplicate pool name is 409"
req DELETE /pool/web
is "$CODE" 409 "deleting a pool a virtual service uses is 409"
like "$BODY" 'web-vs|referenced|in use' "the 409 says who uses it"
req PUT /configuration '{"pool": [{"name": "p", "servers": [{"ip": {"addr": "not-an-ip", "type": "V4"}, "port": 80}]}]}'
is "$CODE" 400 "a bad whole-configuration PUT is 400"
after=$(api_curl "$A/configuration" | jq -S .)
is "$(md5sum <<<"$after")" "$(md5sum <<<"$before")" "the rejected changes changed nothing (GET /api/configuration identical)"
req GET /pool/nosuch
is "$CODE" 404 "an unknown pool is 404"

# --- persistence across a restart -----------------------------------------
xadcd_stop
is "$?" 0 "SIGTERM: xadcd drains and exits 0"
xadcd_start --api-listen 127.0.0.1:9180 --api-token "$TOKEN" || xt_die "xadcd did not restart"
restarted=$(api_curl "$A/configuration" | jq -S .)
is "$(md5sum <<<"$restarted")" "$(md5sum <<<"$before")" "restart without --config: the configuration came back from the state file"
wait_vip "http://$VIP4/"
ok $? "restart: the VIP serves again"

# --- TCP API and its token ---------------------------------------------------
se_curl() { ip netns exec "$SE_NS" curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$@"; }
is "$(se_curl http://127.0.0.1:9180/api/status)" 401 "TCP API without a token: 401"
is "$(se_curl -H 'Authorization: Bearer wrong' http://127.0.0.1:9180/api/status)" 401 "TCP API with a wrong token: 401"
is "$(se_curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:9180/api/status)" 200 "TCP API with the token: 200"

# --- xadcctl -----------------------------------------------------------------
out=$(xadcctl_se -j get pool)
jq -e '.count >= 1' <<<"$out" >/dev/null
ok $? "xadcctl -j get pool prints valid JSON"
out=$(xadcctl_se -j status)
jq -e '.virtualservices | length == 1' <<<"$out" >/dev/null
ok $? "xadcctl -j status prints valid JSON with the virtual service"
xadcctl_se get pool nosuch >/dev/null 2>&1
isnt "$?" 0 "xadcctl get of a missing object exits non-zero"
echo '{"pool": [{"name": "x", "servers": [{"ip": {"addr": "198.18.1.2", "type": "V4"}, "port": 70000}]}]}' >"$XT_TMP/bad.json"
err=$(xadcctl_se apply -f "$XT_TMP/bad.json" 2>&1)
isnt "$?" 0 "xadcctl apply of a bad file exits non-zero"
like "$err" 'pool\[x\]\.servers\[0\]\.port' "xadcctl prints the error path"
xadcctl_se delete virtualservice web-vs
is "$?" 0 "xadcctl delete virtualservice web-vs"
xadcctl_se delete pool web
is "$?" 0 "xadcctl delete pool web (no longer referenced)"
req GET /pool/web
is "$CODE" 404 "the deleted pool is gone"

xadcd_alive
ok $? "xadcd still running"
done_testing
