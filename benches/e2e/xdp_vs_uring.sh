#!/usr/bin/env bash
# xdp_vs_uring.sh -- end-to-end DHCPv4 throughput of xdhcpd on each datapath
# (io_uring, native XDP + AF_XDP, generic XDP + AF_XDP), one worker on one
# server core, loaded by xdhcp-loadgen doing full DORA exchanges from the
# other core; and the ceiling of the path: how many frames an XDP_TX
# reflector (swap MACs, send back) turns around on the same veth.
#
# Needs root, network namespaces, iproute2, ethtool, util-linux (taskset),
# python3, and a Rust toolchain for the release build.
#
# Usage:  sudo benches/e2e/xdp_vs_uring.sh [--quick] [--period SECONDS]
#                [--datapaths "uring xdp-native xdp-generic"] [--no-build]
#                [--napi pinned|sender]
#   --quick      2 s steps, fewer rates (about 3 minutes instead of 8)
#   --period     seconds of load per step (default 5)
#   --datapaths  which datapaths to measure, in order
#   --no-build   use the existing release binaries
#   --napi       pinned (default): each veth end's receive work runs in a
#                NAPI thread pinned to its side's core, so the server core
#                pays for everything the server needs; sender: the veth
#                default, where a frame is received in the softirq of the
#                core that sent it (the server's receive work, XDP program
#                included, is then billed to the loadgen's core, and the
#                loadgen's to the server's)
#
# Topology (two namespaces this script creates and deletes):
#   netns xdv-srv: veth xdvs0 10.80.0.1/12, xdhcpd --workers 1, CPU 0
#   netns xdv-cli: veth xdvc0, xdhcp-loadgen on CPU 1, clients on the link
#   One queue per end, TX checksum offload off; with --napi pinned, GRO on
#   and NAPI threaded on both ends, each NAPI thread pinned with its side.
#
# Method, per datapath: for each offered rate, a fresh server (empty lease
# store on tmpfs, a /12 pool so it never runs dry), PERIOD seconds of DORAs
# at that rate from fresh clients. A step is clean when fewer than 1 % of
# the DORAs started did not end with an ACK and the loadgen really started
# 97 % of the offered rate; a step that is not clean is run once more (the
# machine is shared; each step also waits until both cores are quiet).
# Rates go up until the first failing rate, then two
# bisection steps refine the maximum. Every step is in the table.
#
# Ceiling: xdp-tx-ceiling (benches/src/bin) attaches a swap-MAC XDP_TX
# program to xdvs0 and an XDP_DROP sink to xdvc0, then blasts 342-byte
# frames into xdvc0 with BPF_PROG_TEST_RUN live frames for PERIOD seconds
# from CPU 1. The reflector's rate is the veth's rx_queue_0_xdp_tx count
# over that time. A DORA is 4 frames at the server (2 in, 2 out), so
# "share of ceiling" = 4 × DORA/s ÷ reflected frames/s.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
SRV_NS=xdv-srv
CLI_NS=xdv-cli
SIF=xdvs0
CIF=xdvc0
SRV_CPU=0
LG_CPU=1

QUICK=0
PERIOD=""
DATAPATHS="uring xdp-native xdp-generic"
BUILD=1
NAPI=pinned
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --period) PERIOD="$2"; shift ;;
        --datapaths) DATAPATHS="$2"; shift ;;
        --no-build) BUILD=0 ;;
        --napi) NAPI="$2"; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ "$QUICK" = 1 ]; then
    PERIOD="${PERIOD:-2}"
    RATES=(40000 80000 120000 160000)
else
    PERIOD="${PERIOD:-5}"
    RATES=(20000 40000 60000 80000 100000 120000 140000 160000 200000)
fi

log() { echo "[$(date +%T)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"
for t in ip ethtool taskset python3 flock; do
    command -v "$t" >/dev/null || die "missing tool: $t"
done
[ "$(nproc --all)" -ge 2 ] || die "needs 2 CPUs"
case "$NAPI" in pinned|sender) ;; *) die "--napi is pinned or sender" ;; esac

RUN="$(mktemp -d /tmp/xdv-run.XXXXXX)"
STATE=/dev/shm/xdv-state.$$
SERVER_PID=""

cleanup() {
    local p ns
    trap - EXIT INT TERM
    [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null || true
    sleep 0.3
    for ns in "$CLI_NS" "$SRV_NS"; do
        p=$(ip netns pids "$ns" 2>/dev/null || true)
        [ -n "$p" ] && kill -KILL $p 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "$STATE"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

TARGET="${CARGO_TARGET_DIR:-$REPO/target}/release"
if [ "$BUILD" = 1 ]; then
    log "building (release)"
    (cd "$REPO" && flock /tmp/xdhcpd-cargo.lock cargo build --release -q \
        -p dhcp-user --bin xdhcpd -p loadgen --bin xdhcp-loadgen \
        -p benches --bin xdp-tx-ceiling)
fi
for b in xdhcpd xdhcp-loadgen xdp-tx-ceiling; do
    [ -x "$TARGET/$b" ] || die "$TARGET/$b missing (build without --no-build)"
done

# ------------------------------------------------------------ topology --
ip netns del "$SRV_NS" 2>/dev/null || true
ip netns del "$CLI_NS" 2>/dev/null || true
ip netns add "$SRV_NS"
ip netns add "$CLI_NS"
ip -n "$SRV_NS" link add "$SIF" numtxqueues 1 numrxqueues 1 type veth \
    peer name "$CIF" numtxqueues 1 numrxqueues 1 netns "$CLI_NS"
ip -n "$SRV_NS" addr add 10.80.0.1/12 dev "$SIF"
for pair in "$SRV_NS:$SIF" "$CLI_NS:$CIF"; do
    ns=${pair%%:*}; dev=${pair#*:}
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sh -c "echo 1 > /proc/sys/net/ipv6/conf/$dev/disable_ipv6" 2>/dev/null || true
    ip netns exec "$ns" ethtool -K "$dev" tx off >/dev/null
    ip -n "$ns" link set "$dev" up
    if [ "$NAPI" = pinned ]; then
        ip netns exec "$ns" ethtool -K "$dev" gro on >/dev/null
        # Only once GRO gave the veth a NAPI instance (EIO before).
        ip netns exec "$ns" sh -c "echo 1 > /sys/class/net/$dev/threaded"
    fi
done

# pin_napi: each veth end's NAPI thread on its side's core. The threads
# come and go with XDP attachments, so this runs after each (re)start.
pin_napi() {
    local pid comm
    while read -r pid comm; do
        case "$comm" in
            napi/"$SIF"-*) taskset -pc "$SRV_CPU" "$pid" >/dev/null ;;
            napi/"$CIF"-*) taskset -pc "$LG_CPU" "$pid" >/dev/null ;;
        esac
    done < <(ps -eo pid=,comm=)
}

cat >"$RUN/xdhcpd.toml" <<EOF
[server]
interfaces = ["$SIF"]
state_dir = "$STATE"
offer_timeout = "10s"

[[scope]]
name = "bench"
subnet = "10.80.0.0/12"
ranges = ["10.80.1.0-10.95.255.254"]
EOF

# wait_quiet: the machine is shared; wait (at most 60 s) until both cores
# were at least 90 % idle over one second before a step starts.
wait_quiet() {
    local end=$((SECONDS + 60)) a b
    while [ $SECONDS -lt "$end" ]; do
        a=$(awk '/^cpu[01] / { print $2+$3+$4+$7+$8, $5 }' /proc/stat)
        sleep 1
        b=$(awk '/^cpu[01] / { print $2+$3+$4+$7+$8, $5 }' /proc/stat)
        if paste <(echo "$a") <(echo "$b") | awk '{ busy = $3 - $1; idle = $4 - $2; if (busy * 9 > idle) bad = 1 } END { exit bad }'; then
            return 0
        fi
    done
    log "cores still busy with other work after 60 s; measuring anyway"
}

# step DATAPATH RATE -> appends a row to results.tsv, prints it, and exits
# 0 when the step is clean.
step() {
    local dp=$1 rate=$2 tag="$1-$2-$RANDOM"
    wait_quiet
    rm -rf "$STATE"
    ip netns exec "$SRV_NS" taskset -c "$SRV_CPU" "$TARGET/xdhcpd" run \
        --config "$RUN/xdhcpd.toml" --datapath "$dp" --workers 1 \
        --log-format json >"$RUN/srv-$tag.log" 2>&1 &
    SERVER_PID=$!
    local end=$((SECONDS + 15))
    until grep -q '"event_id":1024' "$RUN/srv-$tag.log" 2>/dev/null; do
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$RUN/srv-$tag.log" >&2; die "xdhcpd ($dp) exited at start-up"; }
        [ $SECONDS -lt "$end" ] || die "xdhcpd ($dp) not ready after 15 s"
        sleep 0.05
    done
    pin_napi
    ip netns exec "$CLI_NS" "$TARGET/xdhcp-loadgen" -i "$CIF" --scenario dora \
        --clients $((rate * PERIOD + 1000)) --rate "$rate" --duration "$PERIOD" \
        --cpu "$LG_CPU" --json "$RUN/lg-$tag.json" >"$RUN/lg-$tag.log" 2>&1 || true
    kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    python3 - "$dp" "$rate" "$PERIOD" "$RUN/lg-$tag.json" "$RUN/results.tsv" <<'PY'
import json, sys
dp, rate, period, report, tsv = sys.argv[1:]
rate, period = int(rate), float(period)
ex = {e["name"]: e for e in json.load(open(report))["exchanges"]}
do, ra = ex["DO"], ex["RA"]
started, acked = do["sent"], ra["answered"]
lost = 100.0 * (started - acked) / max(started, 1)
clean = lost < 1.0 and started >= 0.97 * rate * period
row = [dp, rate, started, acked, round(acked / period), round(lost, 2),
       round(ra["latency_us"]["p50"]), round(ra["latency_us"]["p99"]),
       "clean" if clean else "FAIL"]
open(tsv, "a").write("\t".join(map(str, row)) + "\n")
print("%-12s %8d/s  started %8d  ACKs %8d (%7d/s)  lost %6.2f%%  REQUEST->ACK p50 %6d us  p99 %7d us  %s" % tuple(row))
sys.exit(0 if clean else 1)
PY
}

# clean_at DATAPATH RATE: a step, and one retry if it fails.
clean_at() {
    step "$1" "$2" && return 0
    log "$1 at $2/s not clean; once more"
    step "$1" "$2"
}

printf 'datapath\toffered\tstarted\tacked\tack_per_s\tlost_pct\tra_p50_us\tra_p99_us\tverdict\n' >"$RUN/results.tsv"
declare -A BEST
for dp in $DATAPATHS; do
    log "datapath $dp"
    best=0; fail=0
    for r in "${RATES[@]}"; do
        if clean_at "$dp" "$r"; then best=$r; else fail=$r; break; fi
    done
    if [ "$fail" -gt 0 ]; then
        for _ in 1 2; do
            mid=$(( (best + fail) / 2 / 1000 * 1000 ))
            [ "$mid" -le "$best" ] && break
            if clean_at "$dp" "$mid"; then best=$mid; else fail=$mid; fi
        done
    fi
    BEST[$dp]=$best
done

# ------------------------------------------------------------ ceiling --
log "XDP_TX ceiling"
wait_quiet
SMAC=$(ip netns exec "$SRV_NS" cat "/sys/class/net/$SIF/address")
ip netns exec "$SRV_NS" "$TARGET/xdp-tx-ceiling" reflect "$SIF" $((PERIOD + 4)) >"$RUN/reflect.log" 2>&1 &
ip netns exec "$CLI_NS" "$TARGET/xdp-tx-ceiling" sink "$CIF" $((PERIOD + 4)) >"$RUN/sink.log" 2>&1 &
sleep 1
pin_napi
xdp_tx() { ip netns exec "$SRV_NS" ethtool -S "$SIF" | awk '/rx_queue_0_xdp_tx:/ { print $2 }'; }
before=$(xdp_tx)
blast=$(ip netns exec "$CLI_NS" taskset -c "$LG_CPU" "$TARGET/xdp-tx-ceiling" blast "$CIF" "$SMAC" "$PERIOD")
after=$(xdp_tx)
took=$(echo "$blast" | awk '{ print $4 }')
offered=$(echo "$blast" | awk '{ print $2 }')
wait
CEILING=$(python3 -c "print(round(($after - $before) / $took))")
log "reflector: $((after - before)) frames back in $took s ($CEILING/s; $offered offered)"

echo
echo "receive work: --napi $NAPI"
echo "results (every step: $RUN/results.tsv; logs in $RUN)"
column -t -s $'\t' "$RUN/results.tsv"
echo
printf '%-12s %14s %18s %16s\n' datapath "max clean DORA/s" "frames/s (x4)" "share of ceiling"
for dp in $DATAPATHS; do
    b=${BEST[$dp]}
    python3 -c "print('%-12s %14d %18d %15.1f%%' % ('$dp', $b, 4 * $b, 400.0 * $b / $CEILING))"
done
echo "XDP_TX reflector on the same veth: $CEILING frames/s"
