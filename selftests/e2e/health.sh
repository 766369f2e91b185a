#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Active health monitoring: HTTP and TCP monitors take servers out and put
# them back (with hysteresis); 503 when no server is up.

. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"

xt_lab 2
URL="http://$VIP4/"
C="$XT_TMP/cfg.json"
B1=$(backend_ip 1)
B2=$(backend_ip 2)

HM_HTTP='"healthmonitor": [{"name": "hm-http", "type": "HEALTH_MONITOR_HTTP", "send_interval": 2, "receive_timeout": 1, "successful_checks": 2, "failed_checks": 2, "http_monitor": {"http_request": "GET /health HTTP/1.0", "http_response_code": ["HTTP_2XX"]}}]'
HM_TCP='"healthmonitor": [{"name": "hm-tcp", "type": "HEALTH_MONITOR_TCP", "send_interval": 2, "receive_timeout": 1, "successful_checks": 2, "failed_checks": 2}]'

# --- HTTP monitor -----------------------------------------------------------
xt_web_config "$C" "$(xt_srv 1),$(xt_srv 2)" \
	'"lb_algorithm": "LB_ALGORITHM_ROUND_ROBIN", "health_monitor_refs": ["/api/healthmonitor?name=hm-http"]' \
	'' "$HM_HTTP"
xt_apply "$C" || xt_die "apply HTTP monitor"
st=$(wait_state "$B1" 8080 UP 15 && wait_state "$B2" 8080 UP 15)
is "${st:-UP}" UP "http monitor: both servers up while /health answers 200"
wait_vip "$URL" || xt_die "VIP $URL never answered"

xt_health_down 1
st=$(wait_state "$B1" 8080 DOWN 15)
is "${st:-DOWN}" DOWN "http monitor: b1 marked down after its /health returns 503"
reason=$(xadcctl_se -j status | jq -r --arg ip "$B1" '.pools[].servers[] | select(.ip == $ip) | .reason')
note "down reason: $reason"
hits=$(xt_hits 20 "$URL")
is "$(xt_count b1 <<<"$hits")/$(xt_count b2 <<<"$hits")" "0/20" "http monitor: no request goes to the down b1 (b1/b2 of 20)"
is "$(server_state "$B2" 8080)" UP "http monitor: b2 stays up"

xt_health_up 1
st=$(wait_state "$B1" 8080 UP 15)
is "${st:-UP}" UP "http monitor: b1 back up after successful checks"
hits=$(xt_hits 20 "$URL")
within "$(xt_count b1 <<<"$hits")" 10 1 "http monitor: b1 takes its share again"

# --- all down: 503 ------------------------------------------------------------
xt_health_down 1
xt_health_down 2
st=$(wait_state "$B1" 8080 DOWN 15 && wait_state "$B2" 8080 DOWN 15)
is "${st:-DOWN}" DOWN "http monitor: both servers down"
code=$(c_curl -o /dev/null -w '%{http_code}' "$URL")
is "$code" 503 "all servers down: the VIP answers 503"
xt_health_up 1
xt_health_up 2

# --- TCP monitor ----------------------------------------------------------------
xt_web_config "$C" "$(xt_srv 1),$(xt_srv 2)" \
	'"lb_algorithm": "LB_ALGORITHM_ROUND_ROBIN", "health_monitor_refs": ["/api/healthmonitor?name=hm-tcp"]' \
	'' "$HM_TCP"
xt_apply "$C" || xt_die "apply TCP monitor"
st=$(wait_state "$B1" 8080 UP 15 && wait_state "$B2" 8080 UP 15)
is "${st:-UP}" UP "tcp monitor: both servers up"
xt_backend_stop 2
st=$(wait_state "$B2" 8080 DOWN 15)
is "${st:-DOWN}" DOWN "tcp monitor: b2 down once its nginx is stopped"
hits=$(xt_hits 10 "$URL")
is "$(xt_count b1 <<<"$hits")" 10 "tcp monitor: all 10 requests go to b1"
xt_backend_start 2
st=$(wait_state "$B2" 8080 UP 15)
is "${st:-UP}" UP "tcp monitor: b2 up again once nginx is back"

xadcd_alive
ok $? "xadcd still running"
done_testing
