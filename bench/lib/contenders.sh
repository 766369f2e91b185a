# SPDX-License-Identifier: GPL-2.0
# contenders.sh - start, check and stop the backend and the proxies.
#
# Every proxy runs in the px namespace pinned to CPU_PROXY; the backend
# runs in the be namespace pinned to CPU_LOAD (with the load generator).
# All proxies stay up for the whole run on their own port of the same VIP;
# only the one under test gets traffic, the others sit idle in epoll.
#
# Per target T: T_URL[T] base URL, T_PID[T] the pid we started (and stop),
# T_MPID[T] the process whose CPU and memory are measured (NGINX's worker,
# the others' only process), T_STATUS[T] "ok" or why it is not measured.
# "direct" is the backend itself, reached over the cli<->be link.

declare -A T_URL T_PID T_MPID T_STATUS T_PORT T_BASE
T_PORT[xadcd]=80
T_PORT[haproxy]=81
T_PORT[nginx]=82
# Variants for the cost scenarios (policies, DataScripts): same software,
# one more feature; T_BASE names the plain contender they are compared to.
T_PORT[xadcd_pol]=83
T_PORT[haproxy_pol]=84
T_PORT[xadcd_ds]=85
T_PORT[haproxy_ds]=86
T_BASE[xadcd_pol]=xadcd
T_BASE[haproxy_pol]=haproxy
T_BASE[xadcd_ds]=xadcd
T_BASE[haproxy_ds]=haproxy
# Sizes of the groups the variants use.
POLICY_GROUP_SIZE=100000
DS_GROUP_SIZE=10000
DS_TENANT=t04321	# in the group: its class is class-1

# render TEMPLATE OUT [KEY=VALUE...]: fill @KEY@ placeholders.
render()
{
	local in=$1 out=$2 kv args=()
	shift 2
	for kv in "$@"; do
		args+=(-e "s|@${kv%%=*}@|${kv#*=}|g")
	done
	sed "${args[@]}" "$in" >"$out"
}

# body_1k: 1024 printable bytes for the 1 KiB response.
body_1k()
{
	printf 'x%.0s' $(seq 1024)
}

# http_check URL WANT_BYTES: one GET from the client namespace; 0 when it
# answers 200 with exactly WANT_BYTES of body.
http_check()
{
	local got
	got=$(ip netns exec "$NS_CLI" curl -s -m 5 -o /dev/null \
		-w '%{http_code} %{size_download}' "$1")
	[ "$got" = "200 $2" ] && return 0
	echo "GET $1 gave \"$got\", expected \"200 $2\"" >&2
	return 1
}

start_backend()
{
	mkdir -p "$DIR/tmp"
	render "$BENCH_DIR/conf/backend-nginx.conf.in" "$DIR/backend.conf" \
		DIR="$DIR" BE_PORT="$BE_PORT" BODY_1K="$(body_1k)"
	ip netns exec "$NS_BE" nice -n "$BENCH_NICE" taskset -c "$CPU_LOAD" \
		nginx -c "$DIR/backend.conf" -p "$DIR/" -e "$DIR/backend-error.log" \
		>"$DIR/backend.out" 2>&1 &
	BACKEND_PID=$!
	BENCH_PIDS+=("$BACKEND_PID")
	wait_listen "$NS_BE" "$BE_PORT" || return 1
	T_URL[direct]="http://$BE_CLI_ADDR:$BE_PORT"
	T_PID[direct]=$BACKEND_PID
	T_MPID[direct]=$(pgrep -P "$BACKEND_PID" | head -1)
	http_check "${T_URL[direct]}/0" 0 && http_check "${T_URL[direct]}/1k" 1024
}

# make_groups: the policy scenario's 100,000 path prefixes (one a line)
# and the DataScript scenario's 10,000 "tenant class" pairs, shared by
# xadcd's string groups and HAProxy's pattern file / Lua table. No entry
# is a prefix of the bench's paths (/0, /1k, /hdr).
make_groups()
{
	[ -s "$DIR/blocked.lst" ] && [ -s "$DIR/tenants.lst" ] && return 0
	perl -e 'my @w = qw(admin login api static img cgi);
		for my $n (0 .. $ARGV[0] - 1) {
			printf "/%05x/%s\n", ($n * 7919) % 0x100000, $w[$n % @w];
		}' "$POLICY_GROUP_SIZE" >"$DIR/blocked.lst" &&
		perl -e 'printf "t%05d class-%d\n", $_, $_ % 10 for 0 .. $ARGV[0] - 1' \
			"$DS_GROUP_SIZE" >"$DIR/tenants.lst"
}

# xadcd_config T FILE: write xadcd's configuration for target T.
xadcd_config()
{
	local t=$1 out=$2 port=${T_PORT[$1]}
	local subst=(DIR="$DIR" VIP="$VIP" PORT="$port" BE_ADDR="$BE_PX_ADDR" BE_PORT="$BE_PORT")

	case $t in
	xadcd)
		render "$BENCH_DIR/conf/xadcd.json.in" "$out" "${subst[@]}"
		;;
	xadcd_pol)
		make_groups || return 1
		render "$BENCH_DIR/conf/xadcd-policy.json.in" "$out.in" "${subst[@]}" &&
			jq --rawfile l "$DIR/blocked.lst" \
				'.stringgroup[0].kv = ($l | split("\n") | map(select(length > 0) | {key: .}))' \
				"$out.in" >"$out"
		;;
	xadcd_ds)
		make_groups || return 1
		render "$BENCH_DIR/conf/xadcd-ds.json.in" "$out.in" "${subst[@]}" &&
			jq --rawfile l "$DIR/tenants.lst" --rawfile s "$BENCH_DIR/conf/xadcd-ds.lua" \
				'.stringgroup[0].kv = ($l | split("\n") | map(select(length > 0) | split(" ") | {key: .[0], value: .[1]}))
				 | .vsdatascriptset[0].datascript[0].script = $s' \
				"$out.in" >"$out"
		;;
	esac
}

# feature_check T: the variant does what its scenario says on a request
# the backend echoes (/hdr answers with X-Tenant-Class|X-Policy).
feature_check()
{
	local t=$1 got want code
	case $t in
	*_pol)
		want='|1'
		code=$(ip netns exec "$NS_CLI" curl -s -m 5 -o /dev/null -w '%{http_code}' \
			"${T_URL[$t]}$(sed -n '777p' "$DIR/blocked.lst")/x")
		if [ "$code" != 403 ]; then
			echo "$t: a path in the blocked group got $code, expected 403" >&2
			return 1
		fi
		;;
	*_ds) want='class-1|' ;;
	*) return 0 ;;
	esac
	got=$(ip netns exec "$NS_CLI" curl -s -m 5 -H "X-Tenant: $DS_TENANT" "${T_URL[$t]}/hdr")
	[ "$got" = "$want" ] && return 0
	echo "$t: GET /hdr gave \"$got\" from the backend, expected \"$want\"" >&2
	return 1
}

# start_target T: start proxy T, wait for its listener, check it proxies
# both responses byte-exact. Returns non-zero with the reason on stderr.
start_target()
{
	local t=$1 port=${T_PORT[$1]} pid cmd=()
	local subst=(DIR="$DIR" VIP="$VIP" PORT="$port" BE_ADDR="$BE_PX_ADDR" BE_PORT="$BE_PORT")

	case $t in
	xadcd | xadcd_pol | xadcd_ds)
		if [ ! -x "$XADCD" ]; then
			echo "no xadcd binary at $XADCD" >&2
			return 1
		fi
		if ! xadcd_config "$t" "$DIR/$t.json"; then
			echo "could not write $t's configuration" >&2
			return 1
		fi
		rm -f "$DIR/$t.sock"
		cmd=("$XADCD" --config "$DIR/$t.json" --api-socket "$DIR/$t.sock"
		     --workers 1 --state none)
		;;
	haproxy)
		render "$BENCH_DIR/conf/haproxy.cfg.in" "$DIR/haproxy.cfg" "${subst[@]}"
		cmd=(haproxy -db -f "$DIR/haproxy.cfg")
		;;
	haproxy_pol)
		make_groups || return 1
		render "$BENCH_DIR/conf/haproxy-policy.cfg.in" "$DIR/$t.cfg" "${subst[@]}"
		cmd=(haproxy -db -f "$DIR/$t.cfg")
		;;
	haproxy_ds)
		make_groups || return 1
		render "$BENCH_DIR/conf/haproxy-ds.lua" "$DIR/haproxy-ds.lua" DIR="$DIR"
		render "$BENCH_DIR/conf/haproxy-ds.cfg.in" "$DIR/$t.cfg" "${subst[@]}"
		cmd=(haproxy -db -f "$DIR/$t.cfg")
		;;
	nginx)
		mkdir -p "$DIR/tmp"
		render "$BENCH_DIR/conf/nginx-proxy.conf.in" "$DIR/nginx-proxy.conf" "${subst[@]}"
		cmd=(nginx -c "$DIR/nginx-proxy.conf" -p "$DIR/" -e "$DIR/nginx-proxy-error.log")
		;;
	*)
		echo "unknown contender $t" >&2
		return 1
		;;
	esac
	ip netns exec "$NS_PX" nice -n "$BENCH_NICE" taskset -c "$CPU_PROXY" "${cmd[@]}" >"$DIR/$t.out" 2>&1 &
	pid=$!
	BENCH_PIDS+=("$pid")
	T_PID[$t]=$pid
	T_MPID[$t]=$pid
	T_URL[$t]="http://$VIP:$port"
	if ! wait_listen "$NS_PX" "$port" || ! kill -0 "$pid" 2>/dev/null; then
		echo "$t did not listen on $VIP:$port: $(grep -m1 -E 'ALERT|emerg|rror' "$DIR/$t.out" ||
			tail -n 1 "$DIR/$t.out")" >&2
		stop_target "$t"
		return 1
	fi
	if [ "$t" = nginx ]; then
		T_MPID[$t]=$(pgrep -P "$pid" | head -1)
	fi
	if ! http_check "${T_URL[$t]}/0" 0 || ! http_check "${T_URL[$t]}/1k" 1024; then
		echo "$t does not proxy the backend's responses correctly" >&2
		stop_target "$t"
		return 1
	fi
	if ! feature_check "$t"; then
		stop_target "$t"
		return 1
	fi
	return 0
}

# stop_target T: SIGTERM the process we started, SIGKILL after 5 s.
stop_target()
{
	local pid=${T_PID[$1]:-} i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	forget_pid "$pid"
	T_PID[$1]=
	T_MPID[$1]=
}

# restart_target T: a fresh process, for measurements that a previous
# run's heap would distort (idle-connection memory).
restart_target()
{
	stop_target "$1"
	start_target "$1"
}

# target_version T: one line naming the software and its version.
target_version()
{
	case ${1%%_*} in
	xadcd) [ -x "$XADCD" ] && "$XADCD" --version 2>&1 | head -1 || echo "xadcd (not built)" ;;
	haproxy) haproxy -v 2>&1 | head -1 ;;
	nginx) nginx -v 2>&1 | head -1 ;;
	wrk) wrk -v 2>&1 | head -1 ;;
	esac
}
