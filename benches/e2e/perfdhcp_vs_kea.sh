#!/usr/bin/env bash
# perfdhcp_vs_kea.sh -- end-to-end DHCPv4 throughput: xdhcpd (io_uring, one
# worker) against Kea 2.2 (single-threaded, memfile on tmpfs), both loaded by
# ISC perfdhcp doing full DORA exchanges, one CPU core per side.
#
# Needs root, network namespaces and the Debian 12 packages
#   kea-dhcp4-server kea-admin (perfdhcp) iproute2 util-linux (taskset)
#   ethtool (optional) and a Rust toolchain for the xdhcpd build.
#
# Usage:  sudo benches/e2e/perfdhcp_vs_kea.sh [--quick] [--servers "xdhcpd kea"]
#                                             [--period SECONDS] [--no-build]
#   --quick      3 s per step and fewer steps (about 2 minutes on a quiet
#                machine; full: about 6, at most 13 + the build when other
#                workloads keep disturbing steps)
#   --servers    which servers to measure, in order (default: "xdhcpd kea")
#   --period     seconds of load per step (default 10, quick 3)
#   --no-build   use the existing target/release/xdhcpd
#
# Topology (everything lives in two namespaces this script creates and
# deletes; nothing is sent on the host's interfaces):
#   netns xdb-srv: veth xdbs0 10.79.0.1/24 (+ route to 10.80.0.0/16), the server,
#                  pinned to CPU 0
#   netns xdb-cli: veth xdbc0 10.79.0.2/24 and 10.80.0.1/16, perfdhcp pinned to
#                  CPU 1. perfdhcp always acts as a relay: giaddr 10.80.0.1, so
#                  both servers serve the scope 10.80.0.0/16 (65,275 addresses).
#   One veth pair, one TX and one RX queue per end, TX checksum offload off.
#
# Method, per server: for each offered rate (perfdhcp -r), start the server
# fresh (empty lease store), run perfdhcp for PERIOD seconds with 50,000
# simulated clients (-R), wait 0.5 s for in-flight replies (-W), stop the
# server. Achieved DORA/s = ACKs received / PERIOD (perfdhcp's own "Rate:"
# divides by wall time, -W included). drop % = DISCOVERs sent without an ACK
# back. A step is "clean" when drop % < 1 and perfdhcp really sent at least
# 97 % of the offered rate. The machine is shared: before each step the
# script waits (up to 60 s) for both cores to be quiet, and a step that is
# not clean while another workload took more than 2 % of either core is
# "disturbed": not counted, run again. A rate fails after two undisturbed
# failures (at most 4 steps per rate). Each server gets an equal share of
# the time budget (13 min in all, build excluded); a search cut short by
# it says so. Rates go up until the first failing
# rate, then bisection steps refine the maximum. Every step is in the table.
#
# Where packets are lost, from UDP counters inside each namespace:
#   lost@srv   datagrams the server's socket refused (buffer full) plus
#              datagrams it received but did not answer
#   lost@pd    replies perfdhcp's socket refused (perfdhcp too slow to read)
#   lost@kern  softnet backlog drops (whole machine, all CPUs)
# and how much CPU other workloads took on each core (oth@cpuN): on the
# server's core its busy time (/proc/stat) minus the server's own
# (/proc/PID/stat); on perfdhcp's core perfdhcp's run-queue wait
# (/proc/PID/task/*/schedstat; it busy-loops, so any wait is another task).
# When the losses of the first failing step are at perfdhcp and the server
# answered everything, the limit is perfdhcp, not the server.
#
# Results: a table on stdout, and results.tsv plus every log in the run
# directory printed at the end (kept).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
SRV_NS=xdb-srv
CLI_NS=xdb-cli
SIF=xdbs0
CIF=xdbc0
SRV_ADDR=10.79.0.1
CLI_ADDR=10.79.0.2
RELAY_ADDR=10.80.0.1
SRV_CPU=0
PD_CPU=1
CLIENTS=50000
EXIT_WAIT_US=500000
MAX_TOTAL_S=780          # no new step after this many seconds of measuring

QUICK=0
PERIOD=""
SERVERS="xdhcpd kea"
BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --period) PERIOD="$2"; shift ;;
        --servers) SERVERS="$2"; shift ;;
        --no-build) BUILD=0 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ "$QUICK" = 1 ]; then
    PERIOD="${PERIOD:-3}"
    RATES=(5000 15000 25000 35000)
    REFINE=1
else
    PERIOD="${PERIOD:-10}"
    RATES=(2000 5000 10000 15000 20000 25000 30000 35000 40000)
    REFINE=2
fi

log() { echo "[$(date +%T)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"
for t in ip taskset timeout perfdhcp kea-dhcp4 flock awk ss; do
    command -v "$t" >/dev/null || die "missing tool: $t"
done
[ "$(nproc --all)" -ge 2 ] || die "needs at least 2 CPUs (server on CPU $SRV_CPU, perfdhcp on CPU $PD_CPU)"
for s in $SERVERS; do
    case "$s" in xdhcpd|kea) ;; *) die "unknown server: $s" ;; esac
done

RUN="$(mktemp -d /tmp/xdb-run.XXXXXX)"
SHM="$(mktemp -d /dev/shm/xdb-state.XXXXXX)"   # lease stores live on tmpfs
SERVER_PID=""
CLK_TCK=$(getconf CLK_TCK)
DISTURB_MS=$((PERIOD * 20))   # 2 % of a step

cleanup() {
    local p ns
    trap - EXIT INT TERM
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
    fi
    for p in $(jobs -p); do kill -TERM "$p" 2>/dev/null || true; done
    sleep 0.3
    for ns in "$CLI_NS" "$SRV_NS"; do   # anything still running in our namespaces
        p=$(ip netns pids "$ns" 2>/dev/null || true)
        [ -n "$p" ] && kill -KILL $p 2>/dev/null || true
    done
    for p in $(jobs -p); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$CLI_NS" 2>/dev/null || true
    ip netns del "$SRV_NS" 2>/dev/null || true
    rm -rf "$SHM"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

# ---------------------------------------------------------------- build --
XDHCPD="${CARGO_TARGET_DIR:-$REPO/target}/release/xdhcpd"
if [[ " $SERVERS " == *" xdhcpd "* ]]; then
    if [ "$BUILD" = 1 ]; then
        log "building xdhcpd (release)"
        command -v cargo >/dev/null || die "cargo not found (or pass --no-build)"
        # in the background + wait, so that Ctrl-C is handled at once
        # (timeout runs its command in a process group of its own)
        # (cd: rust-toolchain.toml is looked up from the working directory)
        (cd "$REPO" && exec timeout 1200 flock /tmp/xdhcpd-cargo.lock \
            cargo build --release -p dhcp-user --bin xdhcpd) >"$RUN/build.log" 2>&1 &
        wait $! || { tail -20 "$RUN/build.log" >&2; die "build failed (see $RUN/build.log)"; }
    fi
    [ -x "$XDHCPD" ] || die "no $XDHCPD"
fi

# -------------------------------------------------------------- network --
setup_net() {
    ip netns del "$CLI_NS" 2>/dev/null || true
    ip netns del "$SRV_NS" 2>/dev/null || true
    ip netns add "$SRV_NS"
    ip netns add "$CLI_NS"
    ip -n "$SRV_NS" link add "$SIF" numtxqueues 1 numrxqueues 1 type veth \
        peer name "$CIF" numtxqueues 1 numrxqueues 1 netns "$CLI_NS"
    ip -n "$SRV_NS" link set lo up
    ip -n "$CLI_NS" link set lo up
    ip -n "$SRV_NS" addr add "$SRV_ADDR/24" dev "$SIF"
    ip -n "$SRV_NS" link set "$SIF" up
    ip -n "$CLI_NS" addr add "$CLI_ADDR/24" dev "$CIF"
    ip -n "$CLI_NS" addr add "$RELAY_ADDR/16" dev "$CIF"
    ip -n "$CLI_NS" link set "$CIF" up
    # replies to giaddr 10.80.0.1 go out on the same link
    ip -n "$SRV_NS" route add 10.80.0.0/16 dev "$SIF"
    # permanent neighbour entries: no ARP, and immune to the machine-wide
    # neighbour table filling up (other workloads' load generators can
    # overflow it, and then every send fails)
    local smac cmac
    cmac=$(ip netns exec "$CLI_NS" cat "/sys/class/net/$CIF/address")
    smac=$(ip netns exec "$SRV_NS" cat "/sys/class/net/$SIF/address")
    ip -n "$CLI_NS" neigh replace "$SRV_ADDR" lladdr "$smac" dev "$CIF" nud permanent
    ip -n "$SRV_NS" neigh replace "$CLI_ADDR" lladdr "$cmac" dev "$SIF" nud permanent
    ip -n "$SRV_NS" neigh replace "$RELAY_ADDR" lladdr "$cmac" dev "$SIF" nud permanent
    if command -v ethtool >/dev/null; then
        ip netns exec "$SRV_NS" ethtool -K "$SIF" tx off >/dev/null
        ip netns exec "$CLI_NS" ethtool -K "$CIF" tx off >/dev/null
    else
        log "WARNING: no ethtool; TX checksum offload stays on"
    fi
}

write_configs() {
    cat >"$RUN/xdhcpd.toml" <<EOF
[server]
interfaces = ["$SIF"]
# lease store and audit log on tmpfs, emptied before every step (Kea's
# memfile is on tmpfs too); durability and audit log stay at their defaults
state_dir = "$SHM/xdhcpd-state"
authoritative = true
lease_time = "1d"
offer_timeout = "60s"

# perfdhcp relays: giaddr $RELAY_ADDR
[[scope]]
name = "perfdhcp"
subnet = "10.80.0.0/16"
ranges = ["10.80.1.0-10.80.255.250"]
lease_time = "1d"
[scope.options]
routers = ["$RELAY_ADDR"]
EOF
    cat >"$RUN/kea-dhcp4.json" <<EOF
{
  "Dhcp4": {
    "interfaces-config": { "interfaces": [ "$SIF" ], "dhcp-socket-type": "udp" },
    "lease-database": { "type": "memfile", "persist": true,
                        "name": "$SHM/kea-leases4.csv", "lfc-interval": 0 },
    "authoritative": true,
    "valid-lifetime": 86400, "renew-timer": 43200, "rebind-timer": 75600,
    "subnet4": [
      { "id": 1, "subnet": "10.80.0.0/16",
        "pools": [ { "pool": "10.80.1.0 - 10.80.255.250" } ],
        "option-data": [ { "name": "routers", "data": "$RELAY_ADDR" } ] }
    ],
    "loggers": [ { "name": "kea-dhcp4", "severity": "WARN",
                   "output_options": [ { "output": "$RUN/kea.log" } ] },
                 { "name": "kea-dhcp4.dhcp4", "severity": "INFO",
                   "output_options": [ { "output": "$RUN/kea.log" } ] } ]
  }
}
EOF
}

# ------------------------------------------------------------- counters --
udp_counters() {  # udp_counters NS: "InDatagrams OutDatagrams RcvbufErrors"
    ip netns exec "$1" cat /proc/net/snmp | awk '
        $1 == "Udp:" && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
        $1 == "Udp:" && h  { print $col["InDatagrams"], $col["OutDatagrams"], $col["RcvbufErrors"] }'
}
ns_rq_wait() {  # ns_rq_wait NS: run-queue wait (ns) of all threads in the namespace
    # (/proc/PID/task/TID/schedstat: on-CPU ns, waiting-to-run ns, slices):
    # time our processes were runnable but another task had their CPU
    local p t s=0 a b c
    for p in $(ip netns pids "$1" 2>/dev/null); do
        for t in /proc/"$p"/task/*/schedstat; do
            { read -r a b c <"$t"; } 2>/dev/null && s=$((s + b))
        done
    done
    echo "$s"
}
cpu_busy_ticks() {  # cpu_busy_ticks N: user+nice+system clock ticks of CPU N
    local name u n sy _r
    while read -r name u n sy _r; do
        [ "$name" = "cpu$1" ] && { echo $((u + n + sy)); return 0; }
    done </proc/stat
    echo 0
}
ns_cpu_ticks() {  # ns_cpu_ticks NS: utime+stime clock ticks of the processes in NS
    local p f s=0 a
    for p in $(ip netns pids "$1" 2>/dev/null); do
        f=$(cat /proc/"$p"/stat 2>/dev/null) || continue
        read -r -a a <<<"${f##*) }"   # a[0] = field 3 (state), a[11..12] = utime, stime
        s=$((s + a[11] + a[12]))
    done
    echo "$s"
}
softnet_drops() {  # machine-wide backlog drops (2nd column, hex, per CPU)
    local s=0 _ d _rest
    while read -r _ d _rest; do s=$((s + 0x$d)); done </proc/net/softnet_stat
    echo "$s"
}

# -------------------------------------------------------------- servers --
wait_port67() {  # wait_port67 SECONDS LOGFILE: the server's UDP socket is bound
    local end=$((SECONDS + $1))
    while [ $SECONDS -lt "$end" ]; do
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$2" >&2; return 1; }
        ip netns exec "$SRV_NS" ss -Hlun 'sport = :67' | grep -q . && return 0
        sleep 0.1
    done
    return 1
}

start_server() {  # start_server NAME LOGFILE
    local budget=$((PERIOD + 60))
    case "$1" in
        xdhcpd)
            rm -rf "$SHM/xdhcpd-state"
            ip netns exec "$SRV_NS" timeout "$budget" taskset -c "$SRV_CPU" \
                "$XDHCPD" run --config "$RUN/xdhcpd.toml" --datapath uring \
                --workers 1 --log-format json >"$2" 2>&1 &
            SERVER_PID=$!
            local end=$((SECONDS + 10))
            until grep -q '"event_id":1024' "$2" 2>/dev/null; do
                kill -0 "$SERVER_PID" 2>/dev/null || { cat "$2" >&2; die "xdhcpd exited at start-up"; }
                [ $SECONDS -lt "$end" ] || die "xdhcpd not ready after 10 s (see $2)"
                sleep 0.05
            done
            ;;
        kea)
            rm -f "$SHM"/kea-leases4.csv* "$RUN"/kea-dhcp4.kea-dhcp4.pid
            local before
            before=$(grep -c DHCP4_STARTED "$RUN/kea.log" 2>/dev/null || true)
            ip netns exec "$SRV_NS" env KEA_PIDFILE_DIR="$RUN" KEA_LOCKFILE_DIR="$RUN" \
                timeout "$budget" taskset -c "$SRV_CPU" \
                kea-dhcp4 -c "$RUN/kea-dhcp4.json" >"$2" 2>&1 &
            SERVER_PID=$!
            # the port is bound before Kea is done starting (packets that
            # arrive then are lost): wait for DHCP4_STARTED as well
            wait_port67 15 "$2" || die "kea-dhcp4 not ready after 15 s (see $2, $RUN/kea.log)"
            local end=$((SECONDS + 15))
            until [ "$(grep -c DHCP4_STARTED "$RUN/kea.log" 2>/dev/null || true)" -gt "${before:-0}" ]; do
                kill -0 "$SERVER_PID" 2>/dev/null || { cat "$2" >&2; die "kea-dhcp4 exited at start-up"; }
                [ $SECONDS -lt "$end" ] || die "kea-dhcp4: no DHCP4_STARTED after 15 s (see $RUN/kea.log)"
                sleep 0.05
            done
            ;;
    esac
    sleep 0.3
}

stop_server() {  # SIGTERM (timeout passes it on), bounded wait, then KILL
    local i
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# ----------------------------------------------------------------- step --
# parse_perfdhcp FILE: "sentD recvO sentR recvA rejected nonunique" (ints)
parse_perfdhcp() {
    awk '
        /Statistics for: DISCOVER-OFFER/ { s = "do" }
        /Statistics for: REQUEST-ACK/    { s = "ra" }
        /^sent packets:/         { sent[s] = $3 }
        /^received packets:/     { recv[s] = $3 }
        /^rejected leases:/      { rej += $3 }
        /^non unique addresses:/ { nu += $4 }
        END { printf "%d %d %d %d %d %d\n", sent["do"], recv["do"], sent["ra"], recv["ra"], rej, nu }' "$1"
}

# xdhcpd_field LOG NAME: a numeric field of the "final counters" line
xdhcpd_field() {
    grep '"final counters"' "$1" | tail -1 | grep -o "\"$2\":[0-9]*" | cut -d: -f2
}

STEP_NO=0
LAST_VERDICT=""   # set by run_step: clean, drops, short, disturbed
RATE_OK=0         # set by try_rate
OUT_OF_TIME=0
run_step() {  # run_step SERVER RATE
    local srv=$1 rate=$2 tag slog pout rc
    STEP_NO=$((STEP_NO + 1))
    tag=$(printf '%02d-%s-%s' "$STEP_NO" "$srv" "$rate")
    slog="$RUN/$tag.server.log"
    pout="$RUN/$tag.perfdhcp.out"

    start_server "$srv" "$slog"
    local s0 c0 k0 s1 c1 k1
    s0=$(udp_counters "$SRV_NS"); c0=$(udp_counters "$CLI_NS"); k0=$(softnet_drops)
    local b0 t0 b1 t1
    b0=$(cpu_busy_ticks "$SRV_CPU"); t0=$(ns_cpu_ticks "$SRV_NS")
    rc=0
    ip netns exec "$CLI_NS" timeout $((PERIOD + 30)) taskset -c "$PD_CPU" \
        perfdhcp -4 -g single -r "$rate" -p "$PERIOD" -R "$CLIENTS" \
        -l "$RELAY_ADDR" -W "$EXIT_WAIT_US" "$SRV_ADDR" >"$pout" 2>&1 &
    # $! is timeout (ip netns exec execs it); its child is perfdhcp (taskset
    # execs it). Sample perfdhcp's run-queue wait with shell builtins only.
    local pd=$! pdw=0 pdc="" a b c
    while kill -0 "$pd" 2>/dev/null; do
        [ -n "$pdc" ] || { read -r pdc _ </proc/"$pd"/task/"$pd"/children; } 2>/dev/null || true
        if [ -n "$pdc" ] && { read -r a b c </proc/"$pdc"/schedstat; } 2>/dev/null; then
            [ "$b" -gt "$pdw" ] && pdw=$b
        fi
        sleep 0.25
    done
    wait "$pd" || rc=$?
    s1=$(udp_counters "$SRV_NS"); c1=$(udp_counters "$CLI_NS"); k1=$(softnet_drops)
    b1=$(cpu_busy_ticks "$SRV_CPU"); t1=$(ns_cpu_ticks "$SRV_NS")
    # CPU time that other workloads took on each core during the step:
    # server core = its busy time minus the server's own; perfdhcp's core =
    # perfdhcp's run-queue wait (it busy-loops, so it wants the core 100 %)
    local oth0 oth1
    oth0=$(( ((b1 - b0) - (t1 - t0)) * 1000 / CLK_TCK )); [ "$oth0" -ge 0 ] || oth0=0
    oth1=$(( pdw / 1000000 ))
    local alive=1 srvw
    kill -0 "$SERVER_PID" 2>/dev/null || alive=0
    srvw=$(ns_rq_wait "$SRV_NS")   # the server started fresh: whole step
    stop_server
    # exit status 3 = some exchanges failed (drops): expected under overload
    if [ "$rc" != 0 ] && [ "$rc" != 3 ]; then
        cat "$pout" >&2; die "perfdhcp failed with status $rc (see $pout)"
    fi

    local sd ro sr ra rej nu
    read -r sd ro sr ra rej nu < <(parse_perfdhcp "$pout")
    [ "$sd" -gt 0 ] || { cat "$pout" >&2; die "perfdhcp sent nothing (see $pout)"; }
    local si so sb ci co cb
    read -r si so sb < <(paste -d' ' <(echo "$s0") <(echo "$s1") | awk '{ print $4-$1, $5-$2, $6-$3 }')
    read -r ci co cb < <(paste -d' ' <(echo "$c0") <(echo "$c1") | awk '{ print $4-$1, $5-$2, $6-$3 }')
    local lost_srv=$((sb + (si > so ? si - so : 0))) lost_pd=$cb lost_kern=$((k1 - k0))

    # sanity: a server that crashes, NAKs or gives out wrong addresses is
    # a bug to report, not a data point
    local bad=""
    [ "$alive" = 1 ] || bad="server died during the run"
    [ "$rej" = 0 ] && [ "$nu" = 0 ] || bad="${bad:+$bad; }perfdhcp: $rej rejected leases, $nu non-unique addresses"
    if [ "$srv" = xdhcpd ]; then
        local naks serr stored_err withheld
        naks=$(xdhcpd_field "$slog" naks); serr=$(xdhcpd_field "$slog" send_errors)
        stored_err=$(xdhcpd_field "$slog" store_errors); withheld=$(xdhcpd_field "$slog" withheld)
        if [ -z "$naks" ]; then
            bad="${bad:+$bad; }no final counters line"
        elif [ "$naks" != 0 ] || [ "$serr" != 0 ] || [ "${stored_err:-0}" != 0 ] || [ "${withheld:-0}" != 0 ]; then
            bad="${bad:+$bad; }xdhcpd: naks=$naks send_errors=$serr store_errors=${stored_err:-?} withheld=${withheld:-?}"
        fi
    fi

    # not clean + other workloads took > 2 % of either core = inconclusive
    local verdict
    # sendfail: perfdhcp counted DISCOVERs that the kernel never sent (seen
    # when another workload filled the machine-wide neighbour table)
    verdict=$(awk -v sd="$sd" -v ra="$ra" -v r="$rate" -v p="$PERIOD" -v bad="$bad" \
        -v o0="$oth0" -v o1="$oth1" -v lim="$DISTURB_MS" -v co="$co" 'BEGIN {
        drop = 100 * (sd - ra) / sd
        if (co < 0.9 * sd)            print "sendfail"
        else if (bad != "")           print "BAD"
        else if (drop < 1 && sd >= 0.97 * r * p) print "clean"
        else if (o0 > lim || o1 > lim) print "disturbed"
        else if (drop >= 1)           print "drops"
        else                          print "short" }')   # perfdhcp could not send the rate
    local line
    line=$(awk -v srv="$srv" -v r="$rate" -v p="$PERIOD" -v sd="$sd" -v ra="$ra" \
        -v ls="$lost_srv" -v lp="$lost_pd" -v lk="$lost_kern" -v v="$verdict" \
        -v o0="$oth0" -v o1="$oth1" 'BEGIN {
        printf "%s\t%d\t%.0f\t%.0f\t%.2f\t%d\t%d\t%d\t%d\t%d\t%s\n", srv, r, sd / p, ra / p,
            100 * (sd - ra) / sd, ls, lp, lk, o0, o1, v }')
    echo "$line" >>"$RUN/results.tsv"
    printf '%s\tperfdhcp: DISCOVER %d OFFER %d REQUEST %d ACK %d\tsrv-ns UDP in %d out %d rcvbuf-err %d\tcli-ns UDP in %d out %d rcvbuf-err %d\tsoftnet drops %d\tserver run-queue wait %d ms\tothers on CPU %d: %d ms, on CPU %d: %d ms\n' \
        "$tag" "$sd" "$ro" "$sr" "$ra" "$si" "$so" "$sb" "$ci" "$co" "$cb" "$lost_kern" \
        $((srvw / 1000000)) "$SRV_CPU" "$oth0" "$PD_CPU" "$oth1" >>"$RUN/details.log"
    echo "$line" | awk -F'\t' '{ printf "  %-7s offered %6d/s  sent %6d/s  ACK %6d/s  drop %6.2f%%  lost@srv %6d  lost@pd %6d  lost@kern %4d  others cpu%d %5d ms cpu%d %5d ms  %s\n", $1, $2, $3, $4, $5, $6, $7, $8, c0, $9, c1, $10, $11 }' c0="$SRV_CPU" c1="$PD_CPU" >&2
    if [ "$verdict" = BAD ]; then
        log "$srv misbehaved at $rate/s: $bad"
        log "server log: $slog"; tail -5 "$slog" >&2 || true
        log "perfdhcp output: $pout"
        exit 1
    fi
    if [ "$srv" = xdhcpd ] && [ "$rate" -le 5000 ] && [ "$verdict" != clean ]; then
        log "WARNING: xdhcpd not clean at a low rate ($rate/s): see $slog and $pout"
    fi
    LAST_VERDICT=$verdict
    return 0
}

# wait_quiet: before a step, wait (at most 60 s) for a second in which other
# workloads use less than 10 % of either core
wait_quiet() {
    local end=$((SECONDS + 60)) a0 a1 z0 z1 waited=0
    while :; do
        a0=$(cpu_busy_ticks "$SRV_CPU"); a1=$(cpu_busy_ticks "$PD_CPU")
        sleep 1
        z0=$(cpu_busy_ticks "$SRV_CPU"); z1=$(cpu_busy_ticks "$PD_CPU")
        if [ $((z0 - a0)) -le $((CLK_TCK / 10)) ] && [ $((z1 - a1)) -le $((CLK_TCK / 10)) ]; then
            [ "$waited" = 0 ] || log "quiet again after ${waited}s"
            return 0
        fi
        [ "$waited" = 0 ] && log "other workloads busy (CPU $SRV_CPU $(( (z0 - a0) * 100 / CLK_TCK )) %, CPU $PD_CPU $(( (z1 - a1) * 100 / CLK_TCK )) %): waiting up to 60 s"
        waited=$((waited + 1))
        [ $SECONDS -lt "$end" ] || { log "still busy: going on anyway"; return 0; }
    done
}

# each server gets an equal share of what is left of the time budget, so a
# noisy first ladder cannot starve the second
LADDER_END=0
budget_left() { [ $((SECONDS - START_S)) -lt "$MAX_TOTAL_S" ] && [ "$SECONDS" -lt "$LADDER_END" ]; }

# try_rate SERVER RATE: sets RATE_OK=1 if the rate is clean. A step that
# is not clean is repeated: a rate fails after two undisturbed failures;
# disturbed failures (another workload took the CPU) do not count, but at
# most 4 steps are spent on one rate.
try_rate() {
    local fails=0 n=0
    RATE_OK=0
    while [ "$n" -lt 4 ] && [ "$fails" -lt 2 ]; do
        budget_left || { log "$1: its share of the time budget (${MAX_TOTAL_S}s in all) is spent: stopping here"; OUT_OF_TIME=1; return 0; }
        wait_quiet
        run_step "$1" "$2"
        n=$((n + 1))
        case "$LAST_VERDICT" in
            clean) RATE_OK=1; return 0 ;;
            disturbed) log "$1 at $2/s: disturbed by another workload, not counted: again" ;;
            sendfail) log "$1 at $2/s: perfdhcp's packets did not leave its namespace (see dmesg), not counted: again" ;;
            *) fails=$((fails + 1))
               [ "$fails" -lt 2 ] && log "$1 at $2/s not clean: once more to confirm" ;;
        esac
    done
    return 0
}

ladder() {  # ladder SERVER LADDERS_LEFT: steps up, then bisects; records the max clean rate
    local srv=$1 r lo=0 hi=0 i mid
    LADDER_END=$(( SECONDS + (MAX_TOTAL_S - (SECONDS - START_S)) / $2 ))
    OUT_OF_TIME=0
    log "$srv: stepping the offered rate up (${PERIOD}s per step, $CLIENTS clients, fresh server each step)"
    for r in "${RATES[@]}"; do
        try_rate "$srv" "$r"
        [ "$OUT_OF_TIME" = 0 ] || break
        if [ "$RATE_OK" = 1 ]; then lo=$r; else hi=$r; break; fi
    done
    if [ "$hi" -gt 0 ] && [ "$OUT_OF_TIME" = 0 ]; then
        for ((i = 0; i < REFINE; i++)); do
            mid=$(( (lo + hi) / 2 / 500 * 500 ))
            [ "$mid" -gt "$lo" ] && [ "$mid" -lt "$hi" ] || break
            try_rate "$srv" "$mid"
            [ "$OUT_OF_TIME" = 0 ] || break
            if [ "$RATE_OK" = 1 ]; then lo=$mid; else hi=$mid; fi
        done
    fi
    echo "$srv	$lo	$hi	$OUT_OF_TIME" >>"$RUN/max.tsv"
}

# ----------------------------------------------------------------- main --
quiet_check() {  # how busy both cores are before we start (2 s; nothing of ours runs)
    local a0 a1 z0 z1
    a0=$(cpu_busy_ticks "$SRV_CPU"); a1=$(cpu_busy_ticks "$PD_CPU")
    sleep 2
    z0=$(cpu_busy_ticks "$SRV_CPU"); z1=$(cpu_busy_ticks "$PD_CPU")
    local p0=$(( (z0 - a0) * 100 / (2 * CLK_TCK) )) p1=$(( (z1 - a1) * 100 / (2 * CLK_TCK) ))
    log "before start, other workloads keep CPU $SRV_CPU ${p0} % and CPU $PD_CPU ${p1} % busy"
    if [ "$p0" -gt 10 ] || [ "$p1" -gt 10 ]; then
        log "WARNING: the machine is not quiet; expect low and noisy numbers"
    fi
}

START_S=$SECONDS
quiet_check
setup_net
write_configs
printf 'server\toffered\tsent_per_s\tack_per_s\tdrop_pct\tlost_srv\tlost_pd\tlost_kern\tothers_srvcpu_ms\tothers_pdcpu_ms\tverdict\n' >"$RUN/results.tsv"
: >"$RUN/max.tsv"
log "run directory: $RUN"
left=$(wc -w <<<"$SERVERS")
for s in $SERVERS; do ladder "$s" "$left"; left=$((left - 1)); done

echo
echo "perfdhcp full DORA, $CLIENTS clients, ${PERIOD}s per step; server on CPU $SRV_CPU, perfdhcp on CPU $PD_CPU"
echo
printf '%-7s %8s %8s %8s %7s %8s %8s %9s %9s %8s  %s\n' server offered sent/s DORA/s drop% lost@srv lost@pd lost@kern \
    "oth@cpu$SRV_CPU" "oth@cpu$PD_CPU" verdict
tail -n +2 "$RUN/results.tsv" | awk -F'\t' '{
    printf "%-7s %8d %8d %8d %7.2f %8d %8d %9d %6d ms %5d ms  %s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }'
echo "(oth@cpuN: CPU time other workloads of this shared machine took on that core during the"
echo " step, out of ${PERIOD}000 ms; a step that was not clean with more than ${DISTURB_MS} ms is"
echo " \"disturbed\": not counted, run again)"
echo
while IFS=$'\t' read -r s lo hi oot; do
    if [ "$oot" = 1 ]; then
        echo "max clean rate, $s: >= $lo DORA/s (time budget spent before the search ended)"
    elif [ "$hi" = 0 ]; then
        echo "max clean rate, $s: >= $lo DORA/s (clean at every step offered)"
    else
        echo "max clean rate, $s: $lo DORA/s (not clean at $hi/s)"
    fi
done <"$RUN/max.tsv"
awk -F'\t' 'NR > 1 { n++; if ($11 == "disturbed" || $11 == "sendfail") d++ }
    END { if (d) printf "note: %d of %d steps were disturbed by other workloads and repeated\n", d, n }' "$RUN/results.tsv"
# perfdhcp's own ceiling: the most DISCOVERs/s it managed to send in any step
awk -F'\t' 'NR > 1 && $3 > m { m = $3 } END { printf "perfdhcp sent at most %d DISCOVER/s in any step\n", m }' "$RUN/results.tsv"
# who limits: the first undisturbed failing step of each server, by where
# packets were lost
declare -A LIMIT=()
while IFS=$'\t' read -r s lo hi oot; do
    awk -F'\t' -v s="$s" '$1 == s && $11 != "disturbed" && $11 != "sendfail" { n++; l += $6 }
        END { printf "%s: its socket refused or left unanswered %d requests in all %d undisturbed steps\n", s, l, n }' "$RUN/results.tsv"
    [ "$hi" = 0 ] || [ "$oot" = 1 ] && continue
    LIMIT[$s]=$(awk -F'\t' -v s="$s" -v hi="$hi" '$1 == s && $2 == hi && $11 != "disturbed" && $11 != "sendfail" && !done {
        done = 1
        if ($11 == "short")     print "perfdhcp"
        else if ($7 > 2 * $6)   print "perfdhcp"
        else if ($6 > 2 * $7)   print "server"
        else                    print "mixed" }' "$RUN/results.tsv")
    awk -F'\t' -v s="$s" -v hi="$hi" '$1 == s && $2 == hi && $11 != "disturbed" && $11 != "sendfail" && !done {
        done = 1
        if ($11 == "short")
            printf "limit, %s at %d/s: perfdhcp could not send the offered rate\n", s, hi
        else if ($7 > 2 * $6)
            printf "limit, %s at %d/s: perfdhcp (it lost %d replies in its own socket; the server lost %d)\n", s, hi, $7, $6
        else if ($6 > 2 * $7)
            printf "limit, %s at %d/s: the server (it lost %d requests; perfdhcp lost %d replies)\n", s, hi, $6, $7
        else
            printf "limit, %s at %d/s: mixed (server lost %d, perfdhcp lost %d)\n", s, hi, $6, $7 }' "$RUN/results.tsv"
done <"$RUN/max.tsv"
xd=$(awk -F'\t' '$1 == "xdhcpd" && $4 == 0 { print $2 }' "$RUN/max.tsv")
kea=$(awk -F'\t' '$1 == "kea" && $4 == 0 { print $2 }' "$RUN/max.tsv")
if [ -n "$xd" ] && [ -n "$kea" ] && [ "$kea" -gt 0 ]; then
    note=""
    [ "${LIMIT[xdhcpd]:-}" = perfdhcp ] && note=" (a lower bound: perfdhcp, not xdhcpd, set xdhcpd's limit)"
    awk -v x="$xd" -v k="$kea" -v n="$note" 'BEGIN { printf "ratio xdhcpd/Kea: %.2f%s\n", x / k, n }'
else
    echo "ratio xdhcpd/Kea: n/a (a search did not finish)"
fi
echo
echo "logs and results.tsv: $RUN"
