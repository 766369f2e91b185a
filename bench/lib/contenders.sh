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

declare -A T_URL T_PID T_MPID T_STATUS T_PORT
T_PORT[xadcd]=80
T_PORT[haproxy]=81
T_PORT[nginx]=82

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

# start_target T: start proxy T, wait for its listener, check it proxies
# both responses byte-exact. Returns non-zero with the reason on stderr.
start_target()
{
	local t=$1 port=${T_PORT[$1]} pid cmd=()
	local subst=(DIR="$DIR" VIP="$VIP" PORT="$port" BE_ADDR="$BE_PX_ADDR" BE_PORT="$BE_PORT")

	case $t in
	xadcd)
		if [ ! -x "$XADCD" ]; then
			echo "no xadcd binary at $XADCD" >&2
			return 1
		fi
		render "$BENCH_DIR/conf/xadcd.json.in" "$DIR/xadcd.json" "${subst[@]}"
		rm -f "$DIR/xadcd.sock"
		cmd=("$XADCD" --config "$DIR/xadcd.json" --api-socket "$DIR/xadcd.sock"
		     --workers 1 --state none)
		;;
	haproxy)
		render "$BENCH_DIR/conf/haproxy.cfg.in" "$DIR/haproxy.cfg" "${subst[@]}"
		cmd=(haproxy -db -f "$DIR/haproxy.cfg")
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
	case $1 in
	xadcd) [ -x "$XADCD" ] && "$XADCD" --version 2>&1 | head -1 || echo "xadcd (not built)" ;;
	haproxy) haproxy -v 2>&1 | head -1 ;;
	nginx) nginx -v 2>&1 | head -1 ;;
	wrk) wrk -v 2>&1 | head -1 ;;
	esac
}
