#!/usr/bin/env bash
# Run the Autobahn WebSocket server test cases against one of our crates' servers.
#
#   bash .ci/autobahn_server.sh <cargo-package> <agent-name> [extra args to the example]
#
# Builds and starts `cargo run --release -p <pkg> --example autobahn_server_<pkg without wsx->`
# on 127.0.0.1:0 (it prints "listening on 127.0.0.1:PORT"), drives it with kosoku's
# fuzzingclient (several cases at once), and checks the report with .ci/autobahn_check.py:
# all cases, permessage-deflate's included.
#
# Environment:
#   KOSOKU_VENV       venv holding kosoku (default: $HOME/.cache/wsx-kosoku-venv)
#   KOSOKU_VERSION    kosoku version to install (default: 0.1.0)
#   AUTOBAHN_OUTDIR   report directory (default: target/autobahn-server/<agent>)
#   AUTOBAHN_TIMEOUT  seconds the cases may take (default: 900)
#   AUTOBAHN_SELECT   kosoku's case selection, -i/-x GLOB pairs (default: all cases)
#   AUTOBAHN_PARALLEL cases run at once (default: 4)
set -euo pipefail
set -f

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
outdir=${AUTOBAHN_OUTDIR:-target/autobahn-server/$agent}
timeout_s=${AUTOBAHN_TIMEOUT:-900}
read -r -a select_args <<<"${AUTOBAHN_SELECT:-}"
parallel=${AUTOBAHN_PARALLEL:-4}

if [ ! -x "$venv/bin/kosoku" ]; then
    echo "== installing kosoku $kosoku_version into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "kosoku==$kosoku_version"
fi

example=autobahn_server_${pkg#wsx-}
example=${example//-/_}
echo "== building $pkg example $example (release)"
cargo build --release -p "$pkg" --example "$example"

rm -rf "$outdir"
mkdir -p "$outdir"
server_log=$outdir/server.log
# Made here, not by the background job's redirection, which may not have run yet when the
# loop below first reads it.
: >"$server_log"
cargo run --release -q -p "$pkg" --example "$example" -- 127.0.0.1:0 "$@" >"$server_log" 2>&1 </dev/null &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM

port=
for _ in $(seq 1 300); do
    port=$(sed -n 's|^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' "$server_log")
    [ -n "$port" ] && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "the server exited before listening:" >&2
        cat "$server_log" >&2
        exit 1
    fi
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "the server did not listen within 30 s:" >&2
    cat "$server_log" >&2
    exit 1
fi
echo "== $pkg serving on 127.0.0.1:$port, reports in $outdir"

start=$SECONDS
kosoku_rc=0
timeout --kill-after=10 "$timeout_s" \
    "$venv/bin/kosoku" -m fuzzingclient 127.0.0.1:"$port" -o "$outdir" -p "$parallel" \
    ${select_args[@]+"${select_args[@]}"} >"$outdir/kosoku.log" 2>&1 || kosoku_rc=$?
echo "== kosoku exited with $kosoku_rc after $((SECONDS - start)) s"
tail -n 5 "$outdir/kosoku.log"
if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "the server died during the cases:" >&2
    tail -n 30 "$server_log" >&2
    exit 1
fi
if [ ! -f "$outdir/index.json" ]; then
    echo "no $outdir/index.json: kosoku did not complete the run" >&2
    exit 1
fi
# The index files the cases under the server's address, the only agent there. Every case
# is judged (permessage-deflate's included), or only the ones selected.
judge=(--ignore 'none')
for ((i = 0; i + 1 < ${#select_args[@]}; i += 2)); do
    case "${select_args[i]}" in
        -i) judge+=(--only "${select_args[i + 1]}") ;;
        -x) judge+=(--ignore "${select_args[i + 1]}") ;;
    esac
done
"$venv/bin/python" .ci/autobahn_check.py "$outdir/index.json" ${judge[@]+"${judge[@]}"}
