#!/usr/bin/env bash
# End-to-end loopback benchmarks: every client on every workload, and every server under the
# load client, several times, medians as markdown tables with each client's ratio to the best
# and to the I/O-only ceiling.
#
#   benches/run.sh [--smoke] [--reps N] [--out DIR] [--publish | --publish-to DIR] [FILTER...]
#
# FILTER words pick clients, servers and/or workloads by substring: `benches/run.sh wsx
# stream-16` runs the four wsx clients on 16-byte streaming; `benches/run.sh flood` runs every
# client on the four unwindowed streaming workloads; `benches/run.sh idle` every client on the
# idle workload; `benches/run.sh many` every client on many-1k and many-1k-h2, interleaved;
# `benches/run.sh serve` every server on the four server workloads. Without filters
# everything runs (about 20 minutes on 2 cores).
#
#   clients:   wsx-tokio wsx-tokio-send wsx-blocking wsx-async-std wsx-async-std-smol
#              wsx-async-std-local tokio-tungstenite
#              fastwebsockets tokio-websockets yawc io-only
#   servers:   wsx-tokio wsx-blocking wsx-async-std-smol tokio-tungstenite fastwebsockets
#              tokio-websockets
#   workloads: rtt stream-16 stream-1k stream-64k stream-1m flood-16 flood-1k flood-64k
#              flood-1m idle deflate-json deflate-noise many-1k many-1k-h2
#              serve-100-20 serve-1k-20 serve-100-16k serve-1k-16k
#
# stream-*: at most a window (8 MiB) in flight; flood-*: no window, the sender never waits for
# echoes. many-1k-h2: many-1k over HTTP/2 (RFC 8441, h2c with prior knowledge, which the echo
# server speaks on the same port), on the clients that have it. Every result line carries the
# client process's peak RSS (VmHWM).
#
# serve-CONNS-SIZE: one library's echo server (wsx-e2e-server, started afresh for each run)
# under the load client (wsx-e2e load: no WebSocket library, one epoll loop), CONNS
# connections each with one SIZE-byte binary message in flight, the next sent as soon as the
# echo is back (uWebSockets' load_test): echoes per second after a warm-up, the server's CPU
# time per echo and its RSS growth per connection, both read from /proc.
#
# --smoke: one tiny run of everything (about a minute once built): proves the harness builds
# and works; the numbers mean nothing.
#
# --publish: after a full run (no filters, not --smoke), rewrite the repository's
# BENCHMARKS.md and its SVG charts in benches/charts/ from this run's results
# (`wsx-e2e publish`). Run it on a quiet machine: `benches/run.sh --publish` (about 20 minutes).
# --publish-to DIR: the same report written to DIR/BENCHMARKS.md and DIR/benches/charts/
# instead, from any run (smoke or filtered included): what tests use; the repository's
# files are left alone.
#
# The echo server is pinned to CPU 0 and the client to CPU 1 (taskset), each on a
# single-threaded tokio runtime (wsx-blocking and wsx-async-std run their own threads, all on
# CPU 1; wsx-async-std-local runs on one thread, like the tokio clients). The same for the
# server workloads: the server under test on CPU 0 (wsx-blocking's threads all there), the
# load client on CPU 1. Knobs (environment): E2E_SECS (streaming time per run, and measured
# time of a server run, default 3), E2E_RTT (round trips, default 20000), E2E_CONNS (idle
# connections, default 5000), E2E_MANY (busy WebSockets of many-1k and many-1k-h2, default
# 1000: each streams 200 messages of 1 KiB with no window), E2E_SERVE_WARMUP (seconds of
# load before a server run measures, default 0.5), E2E_SERVE_CONNS (connections of every
# server workload instead of its own count; unset by default).
# Results (raw lines and the report) go to --out (default target/e2e/<date>).
set -euo pipefail
self=$(realpath "$0")
args="$*"
caller_dir=$PWD
cd "$(dirname "$self")/.."

all_clients=(wsx-tokio wsx-tokio-send wsx-blocking wsx-async-std wsx-async-std-smol wsx-async-std-local tokio-tungstenite fastwebsockets
    tokio-websockets yawc io-only)
# wsx-async-std-smol: wsx-async-std's server, on a smol executor that its one thread runs.
all_servers=(wsx-tokio wsx-blocking wsx-async-std-smol tokio-tungstenite fastwebsockets tokio-websockets)
all_workloads=(rtt stream-16 stream-1k stream-64k stream-1m flood-16 flood-1k flood-64k flood-1m idle deflate-json deflate-noise many-1k
    many-1k-h2 serve-100-20 serve-1k-20 serve-100-16k serve-1k-16k)
# The compressed workloads run on the clients that have permessage-deflate.
deflate_clients=" wsx-tokio yawc "
# The HTTP/2 workload runs on the clients that have WebSockets over HTTP/2.
http2_clients=" wsx-tokio wsx-tokio-send wsx-blocking wsx-async-std wsx-async-std-smol wsx-async-std-local yawc "

reps=3
smoke=0
out=
publish=0
publish_dir=
filters=()
while [ $# -gt 0 ]; do
    case $1 in
        --smoke) smoke=1 ;;
        --reps) reps=$2; shift ;;
        --out) out=$2; shift ;;
        --publish) publish=1 ;;
        --publish-to) publish_dir=$(cd "$caller_dir" && realpath -m "$2"); shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$self"; exit 0 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) filters+=("$1") ;;
    esac
    shift
done

if [ "$publish" = 1 ]; then
    if [ -n "$publish_dir" ]; then
        echo "--publish and --publish-to: pick one" >&2; exit 2
    fi
    if [ "$smoke" = 1 ] || [ ${#filters[@]} -gt 0 ]; then
        echo "--publish rewrites BENCHMARKS.md and needs a full run (no --smoke, no filters);" \
            "use --publish-to DIR to write the report elsewhere" >&2
        exit 2
    fi
fi

secs=${E2E_SECS:-3}
rtt=${E2E_RTT:-20000}
warmup=1000
conns=${E2E_CONNS:-5000}
many=${E2E_MANY:-1000}
serve_warmup=${E2E_SERVE_WARMUP:-0.5}
serve_conns=${E2E_SERVE_CONNS:-}
if [ "$smoke" = 1 ]; then
    reps=1 secs=0.1 rtt=200 warmup=20 conns=50 many=20 serve_warmup=0.05 serve_conns=${E2E_SERVE_CONNS:-50}
fi

# Pick clients, servers and workloads. A word naming a client or server picks those; with no
# such word, every client and every server runs.
clients=()
servers=()
workloads=()
named=0
for f in "${filters[@]+"${filters[@]}"}"; do
    hit=0
    for c in "${all_clients[@]}"; do
        if [[ $c == *"$f"* ]]; then clients+=("$c"); hit=1; named=1; fi
    done
    for s in "${all_servers[@]}"; do
        if [[ $s == *"$f"* ]]; then servers+=("$s"); hit=1; named=1; fi
    done
    for w in "${all_workloads[@]}"; do
        if [[ $w == *"$f"* ]]; then workloads+=("$w"); hit=1; fi
    done
    if [ $hit = 0 ]; then
        echo "filter '$f' matches no client (${all_clients[*]}), no server (${all_servers[*]})" \
            "and no workload (${all_workloads[*]})" >&2
        exit 2
    fi
done
if [ $named = 0 ]; then
    clients=("${all_clients[@]}")
    servers=("${all_servers[@]}")
fi
[ ${#workloads[@]} -gt 0 ] || workloads=("${all_workloads[@]}")
# Keep the usual order, without duplicates.
order() { local -n all=$1 picked=$2; local x y; for x in "${all[@]}"; do for y in "${picked[@]+"${picked[@]}"}"; do [ "$x" = "$y" ] && { echo "$x"; break; }; done; done; }
mapfile -t clients < <(order all_clients clients)
mapfile -t servers < <(order all_servers servers)
mapfile -t workloads < <(order all_workloads workloads)

echo "== building wsx-bench-e2e (release)" >&2
cargo build --release -p wsx-bench-e2e >&2
target_dir=$(cargo metadata --format-version 1 --no-deps | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)
bin=$target_dir/release
[ -n "$out" ] || out=$target_dir/e2e/$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
results=$out/results.tsv
: >"$results"

pin_server=()
pin_client=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    pin_server=(taskset -c 0)
    pin_client=(taskset -c 1)
else
    echo "warning: not pinning (needs taskset and 2 CPUs)" >&2
fi

# The echo server of the client workloads; each server run starts its own server.
server_pid=
serve_pid=
trap 'kill $server_pid $serve_pid 2>/dev/null || true' EXIT
port_file=$out/port
rm -f "$port_file"
"${pin_server[@]}" "$bin/echo-server" --port-file "$port_file" >"$out/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    [ -s "$port_file" ] && break
    sleep 0.05
done
[ -s "$port_file" ] || { echo "echo server did not start" >&2; cat "$out/server.log" >&2; exit 1; }
addr=127.0.0.1:$(cat "$port_file")

# One server run: server $1 started afresh on CPU 0 (so that its peak RSS is this run's), the
# load client on workload $2, the server killed; the result line in $line.
serve_run() {
    local serve_port=$out/serve-port log=$out/serve-$1.log
    rm -f "$serve_port"
    "${pin_server[@]}" "$bin/wsx-e2e-server" --server "$1" --port-file "$serve_port" >"$log" 2>&1 &
    serve_pid=$!
    for _ in $(seq 1 200); do
        [ -s "$serve_port" ] && break
        sleep 0.02
    done
    if [ -s "$serve_port" ]; then
        line=$("${pin_client[@]}" "$bin/wsx-e2e" load --server "$1" --workload "$2" \
            --addr "127.0.0.1:$(cat "$serve_port")" --server-pid "$serve_pid" --secs "$secs" \
            --warmup-secs "$serve_warmup" ${serve_conns:+--conns "$serve_conns"} --timeout 120) || true
    else
        line="error	server=$1	workload=$2	msg=the server did not start: $(tail -1 "$log")"
    fi
    kill "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
    serve_pid=
}

machine="$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs, $(free -g | awk '/^Mem:/ {print $2}') GiB"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date +%s)
failures=0
serve_count=0
for w in "${workloads[@]}"; do [[ $w == serve-* ]] && serve_count=$((serve_count + 1)); done
total=$(( reps * ((${#workloads[@]} - serve_count) * ${#clients[@]} + serve_count * ${#servers[@]}) ))
n=0
for rep in $(seq 1 "$reps"); do
    for w in "${workloads[@]}"; do
        if [[ $w == serve-* ]]; then
            for s in "${servers[@]+"${servers[@]}"}"; do
                n=$((n + 1))
                printf '== [%d/%d] run %d: %s server on %s\n' "$n" "$total" "$rep" "$s" "$w" >&2
                serve_run "$s" "$w"
                echo "$line" >>"$results"
                case $line in
                    result*) echo "   ${line#result	}" >&2 ;;
                    *) echo "   FAILED: ${line:-no output}" >&2; failures=$((failures + 1)) ;;
                esac
            done
            continue
        fi
        for c in "${clients[@]+"${clients[@]}"}"; do
            n=$((n + 1))
            if [[ $w == deflate-* && $deflate_clients != *" $c "* ]] || [[ $w == many-* && $c == io-only ]] ||
                [[ $w == *-h2 && $http2_clients != *" $c "* ]]; then
                continue
            fi
            printf '== [%d/%d] run %d: %s on %s\n' "$n" "$total" "$rep" "$c" "$w" >&2
            closed_before=$(grep -c '^closed' "$out/server.log" || true)
            line=$("${pin_client[@]}" "$bin/wsx-e2e" run --client "$c" --workload "$w" --addr "$addr" \
                --server-pid "$server_pid" --rtt-count "$rtt" --warmup "$warmup" --secs "$secs" \
                --conns "$conns" --many-conns "$many" --timeout 120) || true
            if [[ $w == deflate-* && $line == result* ]]; then
                # Bytes on the wire per message, from the server's count for this connection.
                for _ in $(seq 1 40); do
                    [ "$(grep -c '^closed' "$out/server.log" || true)" -gt "$closed_before" ] && break
                    sleep 0.05
                done
                wire=$(grep '^closed' "$out/server.log" | tail -1 | sed 's/.*wire_in=//')
                msgs=$(grep -o 'msgs=[0-9.]*' <<<"$line" | head -1 | cut -d= -f2)
                line+=$(awk -v w="$wire" -v m="$msgs" 'BEGIN { if (m > 0) printf "\twire_per_msg=%.1f", w / m }')
            fi
            echo "$line" >>"$results"
            case $line in
                result*) echo "   ${line#result	}" >&2 ;;
                *) echo "   FAILED: ${line:-no output}" >&2; failures=$((failures + 1)) ;;
            esac
        done
    done
done
elapsed=$(( $(date +%s) - started ))
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- 2>/dev/null || echo ' (with uncommitted changes)')"
command="benches/run.sh${args:+ $args}"
knobs="E2E_SECS=$secs E2E_RTT=$rtt E2E_CONNS=$conns E2E_MANY=$many E2E_SERVE_WARMUP=$serve_warmup${serve_conns:+ E2E_SERVE_CONNS=$serve_conns}"
# What the published report says about the run, after the result lines.
printf 'meta\t%s=%s\n' machine "$machine; $(uname -sr)" commit "$commit" command "$command" knobs "$knobs" \
    runs "$reps" elapsed_s "$elapsed" load_before "$load_before" load_after "$load_after" \
    date "$(date +%Y-%m-%d)" >>"$results"

{
    echo "Machine: $machine; $(uname -sr)."
    echo "Commit: $commit."
    echo "Command: \`$command\` ($knobs), $reps run(s) each, medians; took ${elapsed} s."
    echo "Load average (1/5/15 min) before: $load_before; after: $load_after."
    echo
    "$bin/wsx-e2e" report "$results"
} | tee "$out/report.md"
echo "raw results: $results" >&2
if [ "$failures" -gt 0 ]; then
    echo "$failures run(s) failed" >&2
    [ "$publish" = 0 ] && [ -z "$publish_dir" ] || echo "not publishing a run with failures" >&2
    exit 1
fi
if [ "$publish" = 1 ]; then
    "$bin/wsx-e2e" publish "$results" --out-md BENCHMARKS.md --charts benches/charts
elif [ -n "$publish_dir" ]; then
    "$bin/wsx-e2e" publish "$results" --out-md "$publish_dir/BENCHMARKS.md" --charts "$publish_dir/benches/charts"
fi
