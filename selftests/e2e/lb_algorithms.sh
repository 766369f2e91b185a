#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Load-balancing algorithms seen from a client: round robin (plain and
# weighted), least connections, consistent hash by URI, header and source IP.

. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"

xt_lab 2
URL="http://$VIP4/"
C="$XT_TMP/cfg.json"

# --- round robin -----------------------------------------------------------
xt_web_config "$C" "$(xt_srv 1),$(xt_srv 2)" '"lb_algorithm": "LB_ALGORITHM_ROUND_ROBIN"'
xt_apply "$C" || xt_die "apply round robin"
wait_vip "$URL" || xt_die "VIP $URL never answered"
hits=$(xt_hits 100 "$URL")
within "$(xt_count b1 <<<"$hits")" 50 1 "round robin: b1 gets 50 of 100"
within "$(xt_count b2 <<<"$hits")" 50 1 "round robin: b2 gets 50 of 100"

xt_web_config "$C" "$(xt_srv 1 1),$(xt_srv 2 3)" '"lb_algorithm": "LB_ALGORITHM_ROUND_ROBIN"'
xt_apply "$C" || xt_die "apply weighted round robin"
hits=$(xt_hits 100 "$URL")
within "$(xt_count b1 <<<"$hits")" 25 2 "round robin ratio 1:3: b1 gets 25 of 100"
within "$(xt_count b2 <<<"$hits")" 75 2 "round robin ratio 1:3: b2 gets 75 of 100"

# --- least connections -----------------------------------------------------
xt_web_config "$C" "$(xt_srv 1),$(xt_srv 2)" '"lb_algorithm": "LB_ALGORITHM_LEAST_CONNECTIONS"'
xt_apply "$C" || xt_die "apply least connections"
# One slow download (1 KB/s) stays open on whichever backend took it.
xt_bg slow "$CLIENT_NS" curl -s --max-time 60 -D "$XT_TMP/slow.hdr" -o /dev/null "${URL}slow"
wait_for 10 grep -qi '^x-backend:' "$XT_TMP/slow.hdr"
busy=$(grep -i '^x-backend:' "$XT_TMP/slow.hdr" | awk '{print $2}' | tr -d '\r')
like "$busy" '^b[12]$' "least connections: the slow request is answered by a backend"
idle=b1
[ "$busy" == b1 ] && idle=b2
hits=$(xt_hits 10 "$URL")
is "$(xt_count "$idle" <<<"$hits")" 10 "least connections: 10 new requests all go to the idle $idle while $busy holds one open"
xt_kill slow
# Once the slow request is gone no server has a request in progress.
no_active() { [ "$(xadcctl_se -j status | jq '[.pools[].servers[].active] | add')" == 0 ]; }
wait_for 5 no_active
is "$(xadcctl_se -j status | jq -c '[.pools[].servers[].active]')" "[0,0]" \
	"least connections: active counts back to 0 once every request finished"

# --- consistent hash by URI -----------------------------------------------
xt_web_config "$C" "$(xt_srv 1),$(xt_srv 2)" \
	'"lb_algorithm": "LB_ALGORITHM_CONSISTENT_HASH", "lb_algorithm_hash": "LB_ALGORITHM_CONSISTENT_HASH_URI"'
xt_apply "$C" || xt_die "apply consistent hash URI"
stable=0
seen=
for i in $(seq 1 20); do
	hits=$(xt_hits 5 "${URL}item/$i?x=$i")
	[ "$(sort -u <<<"$hits" | wc -l)" -eq 1 ] && [ "$hits" == "${hits//-/}" ] && stable=$((stable + 1))
	seen+="$(head -n1 <<<"$hits")"$'\n'
done
is "$stable" 20 "consistent hash URI: each of 20 URIs always hits the same backend (5 tries each)"
is "$(grep -v '^$' <<<"$seen" | sort -u | tr '\n' ' ')" "b1 b2 " "consistent hash URI: 20 URIs spread over both backends"

# --- consistent hash by header ----------------------------------------------
xt_web_config "$C" "$(xt_srv 1),$(xt_srv 2)" \
	'"lb_algorithm": "LB_ALGORITHM_CONSISTENT_HASH", "lb_algorithm_hash": "LB_ALGORITHM_CONSISTENT_HASH_CUSTOM_HEADER", "lb_algorithm_consistent_hash_hdr": "X-User"'
xt_apply "$C" || xt_die "apply consistent hash header"
stable=0
seen=
for i in $(seq 1 20); do
	hits=$(xt_hits 5 "$URL" -H "X-User: user-$i")
	[ "$(sort -u <<<"$hits" | wc -l)" -eq 1 ] && [ "$hits" == "${hits//-/}" ] && stable=$((stable + 1))
	seen+="$(head -n1 <<<"$hits")"$'\n'
done
is "$stable" 20 "consistent hash header: each of 20 X-User values always hits the same backend"
is "$(grep -v '^$' <<<"$seen" | sort -u | tr '\n' ' ')" "b1 b2 " "consistent hash header: 20 values spread over both backends"

# --- consistent hash by source IP --------------------------------------------
xt_web_config "$C" "$(xt_srv 1),$(xt_srv 2)" \
	'"lb_algorithm": "LB_ALGORITHM_CONSISTENT_HASH", "lb_algorithm_hash": "LB_ALGORITHM_CONSISTENT_HASH_SOURCE_IP_ADDRESS"'
xt_apply "$C" || xt_die "apply consistent hash source IP"
srcs="$CLIENT_IP $CLIENT_IP2"
for i in $(seq 10 17); do
	addr_add "$CLIENT_NS" eth0 "198.18.2.$i/24"
	srcs+=" 198.18.2.$i"
done
stable=0
seen=
for src in $srcs; do
	hits=$(xt_hits 5 "$URL" --interface "$src")
	[ "$(sort -u <<<"$hits" | wc -l)" -eq 1 ] && [ "$hits" == "${hits//-/}" ] && stable=$((stable + 1))
	seen+="$(head -n1 <<<"$hits")"$'\n'
done
is "$stable" 10 "consistent hash source IP: each of 10 client addresses always hits the same backend"
is "$(grep -v '^$' <<<"$seen" | sort -u | tr '\n' ' ')" "b1 b2 " "consistent hash source IP: 10 clients spread over both backends"

xadcd_alive
ok $? "xadcd still running"
done_testing
