#!/usr/bin/env bash
# The Autobahn compression cases as a benchmark: the wall time of 12.* (1000 compressed
# echoes per case, up to 128 KiB each) for wsx-tokio and for yawc, both at compression
# level 1 against the same kosoku, one after the other; then how each fares on 13.*.
#
#   bash benches/autobahn-deflate.sh
#
# kosoku does about half of the work (it compresses and inflates every message too), so the
# ratio of the wall times understates the difference between the clients.
set -euo pipefail
cd "$(dirname "$0")/.."
set -f
cargo build --release -q -p wsx-tokio --example autobahn_tokio
cargo build --release -q -p wsx-bench-e2e --bin yawc-autobahn
yawc=$(cargo metadata --format-version 1 --no-deps | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)/release/yawc-autobahn
run() {
    local agent=$1 select=$2 judge=$3
    shift 3
    local start=$SECONDS
    AUTOBAHN_TIMEOUT=3600 AUTOBAHN_SELECT="$select" AUTOBAHN_JUDGE="$judge" \
        bash .ci/autobahn.sh wsx-tokio "$agent" "$@" >"target/autobahn-$agent.log" 2>&1 || true
    echo "$agent: $((SECONDS - start)) s wall (build excluded: already built)"
    grep -E '^\| (12|13|\*\*all)' "target/autobahn-$agent.log" || true
}
run wsx-tokio-12 "-i 12.*" "--only 12.*" --deflate
AUTOBAHN_CLIENT="$yawc" run yawc-12 "-i 12.*" "--only 12.*"
# 13.2, 13.5 and 13.6 accept only an offer with client_no_context_takeover (as in CI).
run wsx-tokio-13 "-i 13.* -x 13.2.* -x 13.5.* -x 13.6.*" "--only 13.*" --deflate
run wsx-tokio-13-nct "-i 13.2.* -i 13.5.* -i 13.6.*" "--only 13.2.* --only 13.5.* --only 13.6.*" --deflate-no-context-takeover
AUTOBAHN_CLIENT="$yawc" run yawc-13 "-i 13.*" "--only 13.*"
