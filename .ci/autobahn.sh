#!/usr/bin/env bash
# Run the Autobahn WebSocket client test cases against one of our crates.
#
#   bash .ci/autobahn.sh <cargo-package> <agent-name> [extra args to the example]
#
# Starts kosoku (a Python-packaged replacement for the Autobahn TestSuite
# fuzzingserver; its behaviour as these scripts use it is in .ci/KOSOKU_NOTES.md) on a free 127.0.0.1 port, runs
#   cargo run --release -p <pkg> --example autobahn_<pkg without wsx-> -- ws://127.0.0.1:PORT <agent> [extra]
# (each example has its own name, so two runs at once never swap binaries)
# and then checks the report with .ci/autobahn_check.py.
#
# Environment:
#   KOSOKU_VENV      venv holding kosoku (default: $HOME/.cache/wsx-kosoku-venv)
#   KOSOKU_VERSION   kosoku version to install (default: 0.1.0)
#   AUTOBAHN_OUTDIR  report directory (default: target/autobahn/<agent>)
#   AUTOBAHN_TIMEOUT seconds the client may run, build excluded (default: 600)
#   AUTOBAHN_SELECT  kosoku's case selection, -i/-x GLOB pairs (default: -x '12.*' -x '13.*')
#   AUTOBAHN_JUDGE   autobahn_check.py's --ignore/--only GLOB pairs (default: its own, which
#                    skips 12.* and 13.*)
#   AUTOBAHN_CLIENT  a client command to run instead of the package's example (the URL and
#                    agent are appended), e.g. another library's client for a comparison
#   AUTOBAHN_HAPROXY `h2` or `h1`: the client reaches kosoku through HAProxy (Debian's,
#                    installed if missing), which upgrades HTTP/1.1 to kosoku either way. `h2`:
#                    an h2c frontend, and the example gets --http2 (RFC 8441 extended CONNECT);
#                    `h1`: an HTTP/1.1 frontend, to tell HAProxy's part from HTTP/2's.
set -euo pipefail
# The selection globs are passed to kosoku as they are, never expanded by the shell.
set -f

# `--install-only`: install kosoku and stop (before runs in parallel share the venv).
install_only=
if [ "${1:-}" = "--install-only" ]; then
    install_only=1
    set -- - -
fi
if [ $# -lt 2 ]; then
    echo "usage: $0 <cargo-package> <agent-name> [extra args to the example]" >&2
    exit 2
fi
pkg=$1
agent=$2
shift 2

cd "$(dirname "$0")/.."
venv=${KOSOKU_VENV:-$HOME/.cache/wsx-kosoku-venv}
kosoku_version=${KOSOKU_VERSION:-0.1.0}
outdir=${AUTOBAHN_OUTDIR:-target/autobahn/$agent}
client_timeout=${AUTOBAHN_TIMEOUT:-600}
read -r -a select_args <<<"${AUTOBAHN_SELECT:--x 12.* -x 13.*}"
read -r -a judge_args <<<"${AUTOBAHN_JUDGE:-}"
haproxy_mode=${AUTOBAHN_HAPROXY:-}
case "$haproxy_mode" in
    "" | h1 | h2) ;;
    *) echo "AUTOBAHN_HAPROXY must be h1 or h2, not $haproxy_mode" >&2; exit 2 ;;
esac

# 1. kosoku in a venv (reused between runs).
if [ ! -x "$venv/bin/kosoku" ]; then
    echo "== installing kosoku $kosoku_version into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "kosoku==$kosoku_version"
fi
if [ -n "$haproxy_mode" ] && ! command -v haproxy >/dev/null; then
    echo "== installing haproxy"
    apt-get update -qq && apt-get install -y -qq haproxy
fi
[ -z "$install_only" ] || exit 0

# 2. Build the client first, so compile time doesn't count against the timeout.
example=autobahn_${pkg#wsx-}
example=${example//-/_}
if [ -z "${AUTOBAHN_CLIENT:-}" ]; then
    echo "== building $pkg example $example (release)"
    cargo build --release -p "$pkg" --example "$example"
fi

# 3. Start kosoku. Port 0 makes it bind a free port; once bound it prints
#    "fuzzingserver listening on ws://127.0.0.1:PORT" to stderr.
#    kosoku needs one -i/-x per glob.
rm -rf "$outdir"
mkdir -p "$outdir"
log=$outdir/kosoku.log
# Made here, not by the background job's redirection, which may not have run yet when the
# loop below first reads it.
: >"$log"
"$venv/bin/kosoku" -m fuzzingserver 127.0.0.1:0 -o "$outdir" "${select_args[@]}" >"$log" 2>&1 &
kosoku_pid=$!
client_pid=
haproxy_pid=
cleanup() {
    [ -z "$client_pid" ] || kill "$client_pid" 2>/dev/null || true
    [ -z "$haproxy_pid" ] || kill "$haproxy_pid" 2>/dev/null || true
    kill "$kosoku_pid" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=
for _ in $(seq 1 300); do
    port=$(sed -n 's|^fuzzingserver listening on ws://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' "$log")
    [ -n "$port" ] && break
    if ! kill -0 "$kosoku_pid" 2>/dev/null; then
        echo "kosoku exited before listening:" >&2
        cat "$log" >&2
        exit 1
    fi
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "kosoku did not start listening within 30 s:" >&2
    cat "$log" >&2
    exit 1
fi
# Belt and braces: the port must accept TCP connections.
if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "kosoku said it listens on $port but the port refuses connections" >&2
    exit 1
fi
echo "== kosoku listening on 127.0.0.1:$port (pid $kosoku_pid), reports in $outdir"
url=ws://127.0.0.1:$port

# 3b. HAProxy in front of kosoku, logging each request (status, timings, how it ended).
if [ -n "$haproxy_mode" ]; then
    front_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    bind="127.0.0.1:$front_port"
    if [ "$haproxy_mode" = h2 ]; then
        bind+=" proto h2"
        set -- "$@" --http2
    fi
    cat >"$outdir/haproxy.cfg" <<EOF
global
    nbthread 1
    log stderr format raw local0 info

defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 1m
    timeout server 1m
    timeout tunnel 1h

frontend autobahn
    bind $bind
    default_backend kosoku

backend kosoku
    server kosoku 127.0.0.1:$port
EOF
    haproxy -f "$outdir/haproxy.cfg" -db >"$outdir/haproxy.log" 2>&1 &
    haproxy_pid=$!
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$front_port") 2>/dev/null && break
        if ! kill -0 "$haproxy_pid" 2>/dev/null; then
            echo "haproxy exited before listening:" >&2
            cat "$outdir/haproxy.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$front_port") 2>/dev/null; then
        echo "haproxy did not listen on $front_port within 10 s:" >&2
        cat "$outdir/haproxy.log" >&2
        exit 1
    fi
    echo "== $(haproxy -v | sed -n 1p), $haproxy_mode frontend on 127.0.0.1:$front_port (pid $haproxy_pid)"
    url=ws://127.0.0.1:$front_port
fi

# 4. Run the client under test (in the background, so a signal to this
#    script runs the cleanup trap at once instead of after the client).
start=$SECONDS
client_rc=0
if [ -n "${AUTOBAHN_CLIENT:-}" ]; then
    read -r -a client_cmd <<<"$AUTOBAHN_CLIENT"
else
    client_cmd=(cargo run --release -q -p "$pkg" --example "$example" --)
fi
timeout --kill-after=10 "$client_timeout" \
    "${client_cmd[@]}" "$url" "$agent" "$@" </dev/null &
client_pid=$!
wait "$client_pid" || client_rc=$?
client_pid=
echo "== client exited with $client_rc after $((SECONDS - start)) s"
if [ "$client_rc" -eq 124 ] || [ "$client_rc" -eq 137 ]; then
    echo "client timed out after ${client_timeout} s" >&2
fi

# 5. kosoku writes the report and exits after /updateReports. Its own exit
#    status is 1 when any selected case is not OK, NON-STRICT or INFORMATIONAL;
#    the checker below is the judge, not kosoku.
grace=60
[ "$client_rc" -eq 0 ] || grace=5
for _ in $(seq 1 $((grace * 10))); do
    kill -0 "$kosoku_pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$kosoku_pid" 2>/dev/null; then
    echo "kosoku still running $grace s after the client finished (no /updateReports?)" >&2
    kill "$kosoku_pid" 2>/dev/null || true
fi
kosoku_rc=0
wait "$kosoku_pid" || kosoku_rc=$?
echo "== kosoku exited with $kosoku_rc"
tail -n 20 "$log"

if [ ! -f "$outdir/index.json" ]; then
    echo "no $outdir/index.json: the client did not complete the run" >&2
    exit 1
fi

# 6. Judge the report. The venv's python can import kosoku, so the checker
#    also reports cases that were never run.
check_rc=0
"$venv/bin/python" .ci/autobahn_check.py "$outdir/index.json" --agent "$agent" ${judge_args[@]+"${judge_args[@]}"} || check_rc=$?
if [ "$client_rc" -ne 0 ]; then
    echo "autobahn: client exited with $client_rc" >&2
    exit 1
fi
exit "$check_rc"
