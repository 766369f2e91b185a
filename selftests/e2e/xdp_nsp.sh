#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# xdp_nsp.sh - the XDP network security policy on a live veth: a client
# namespace with two addresses talks to an SE namespace whose veth has the
# xadc XDP program attached (native mode) with "DENY 198.18.50.1" on VIP
# 198.18.50.2:8080. The denied address's SYNs never reach the listening
# socket and the VS drop counter rises; the other address connects.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/tap.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root"
: "${XADC_BUILD:=$here/../../build}"
helper=$XADC_BUILD/selftests/xdp_nsp_helper
[ -x "$helper" ] || skip_all "$helper not built (make)"
command -v python3 >/dev/null || skip_all "python3 missing"

C=xdpc$$
S=xdps$$
tmp=$(mktemp -d /tmp/xadc-xdp.XXXXXX)
export XADC_XDP_PIN_DIR=$tmp/bpffs/xadc

cleanup()
{
	[ -n "${lpid:-}" ] && kill "$lpid" 2>/dev/null
	ip netns exec "$S" "$helper" down vs >/dev/null 2>&1
	ip netns del "$C" 2>/dev/null
	ip netns del "$S" 2>/dev/null
	umount "$tmp/bpffs" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/bpffs"
mount -t bpf bpf "$tmp/bpffs" || skip_all "cannot mount bpffs"
ip netns add "$C" && ip netns add "$S" || skip_all "cannot create network namespaces"
ip -n "$C" link add vc type veth peer name vs netns "$S"
ip -n "$C" addr add 198.18.50.1/24 dev vc
ip -n "$C" addr add 198.18.50.3/24 dev vc
ip -n "$C" link set vc up
ip -n "$S" addr add 198.18.50.2/24 dev vs
ip -n "$S" link set vs up
ip -n "$S" link set lo up

out=$(ip netns exec "$S" "$helper" up vs 198.18.50.2 8080 198.18.50.1 2>&1)
is "$(tail -1 <<<"$out")" "attached native" "program attached natively on veth"
like "$(ip -n "$S" -d link show vs)" "xdp.*xadc_xdp" "ip link shows xadc_xdp"

# Listener: counts accepted connections into $tmp/accepted.
ip netns exec "$S" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.50.2", 8080)); s.listen(16); s.settimeout(20)
n = 0
try:
    while True:
        c, a = s.accept(); n += 1; c.close()
        open(sys.argv[1], "w").write("%d %s\n" % (n, a[0]))
except Exception:
    pass
' "$tmp/accepted" &
lpid=$!
sleep 0.5

connect()
{
	ip netns exec "$C" python3 -c '
import socket, sys
s = socket.socket(); s.bind((sys.argv[1], 0)); s.settimeout(2)
try:
    s.connect(("198.18.50.2", 8080)); print("connected")
except Exception as e:
    print("failed")
' "$1"
}

before=$(ip netns exec "$S" "$helper" stats | awk '{print $4}')
is "$(connect 198.18.50.1)" "failed" "denied client cannot connect"
after=$(ip netns exec "$S" "$helper" stats | awk '{print $4}')
cmp_ok "$after" -gt "$before" "VS drop counter rose"
ok "$([ ! -s "$tmp/accepted" ]; echo $?)" "listening socket accepted nothing from the denied client"
is "$(connect 198.18.50.3)" "connected" "allowed client connects"
like "$(cat "$tmp/accepted" 2>/dev/null)" "^1 198\.18\.50\.3" "exactly one accept, from the allowed client"

ip netns exec "$S" "$helper" down vs
ok $? "detached and unpinned"
ok "$(ip -n "$S" -d link show vs | grep -q xadc_xdp; [ $? -ne 0 ]; echo $?)" "no XDP program left on the veth"
ok "$([ ! -e "$XADC_XDP_PIN_DIR" ]; echo $?)" "pin directory removed"
done_testing
