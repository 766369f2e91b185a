#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Session persistence: HTTP cookie and client IP, on a round-robin pool.

. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"

xt_lab 2
URL="http://$VIP4/"
C="$XT_TMP/cfg.json"
JAR="$XT_TMP/jar"

# --- cookie ----------------------------------------------------------------
xt_web_config "$C" "$(xt_srv 1),$(xt_srv 2)" \
	'"lb_algorithm": "LB_ALGORITHM_ROUND_ROBIN", "application_persistence_profile_ref": "/api/applicationpersistenceprofile?name=System-Persistence-Http-Cookie"'
xt_apply "$C" || xt_die "apply cookie persistence"
wait_vip "$URL" || xt_die "VIP $URL never answered"

hdrs=$(c_curl -D - -o /dev/null -c "$JAR" "$URL")
like "$hdrs" $'[Ss]et-[Cc]ookie: [^\r]+' "cookie: the first response sets a persistence cookie"
first=$(grep -i '^x-backend:' <<<"$hdrs" | awk '{print $2}' | tr -d '\r')
hits=$(xt_hits 20 "$URL" -b "$JAR")
is "$(xt_count "$first" <<<"$hits")" 20 "cookie: the next 20 requests with the cookie all hit $first"
hits=$(xt_hits 20 "$URL")
is "$(sort -u <<<"$hits" | tr '\n' ' ')" "b1 b2 " "cookie: without the cookie requests spread over both backends"
# A second client (another jar) may be sent elsewhere but then sticks too.
hits=$(xt_hits 1 "$URL" -c "$JAR.2")
second=$(head -n1 <<<"$hits")
hits=$(xt_hits 10 "$URL" -b "$JAR.2")
is "$(xt_count "$second" <<<"$hits")" 10 "cookie: a second client sticks to its own backend ($second)"

# --- client IP --------------------------------------------------------------
xt_web_config "$C" "$(xt_srv 1),$(xt_srv 2)" \
	'"lb_algorithm": "LB_ALGORITHM_ROUND_ROBIN", "application_persistence_profile_ref": "/api/applicationpersistenceprofile?name=System-Persistence-Client-IP"'
xt_apply "$C" || xt_die "apply client IP persistence"
for src in "$CLIENT_IP" "$CLIENT_IP2"; do
	hits=$(xt_hits 20 "$URL" --interface "$src")
	n=$(sort -u <<<"$hits" | wc -l)
	is "$n/$(grep -c '^b' <<<"$hits")" "1/20" "client IP: 20 requests from $src all hit one backend ($(head -n1 <<<"$hits"))"
done

xadcd_alive
ok $? "xadcd still running"
done_testing
