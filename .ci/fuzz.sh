#!/usr/bin/env bash
# Build every cargo-fuzz target in fuzz/ and run each one for a while; fail on any crash.
#
#   bash .ci/fuzz.sh                  # every target, $FUZZ_SECONDS each
#   bash .ci/fuzz.sh connection utf8  # only these targets
#
# Environment:
#   FUZZ_SECONDS    seconds per target, libFuzzer's -max_total_time (default 60)
#   FUZZ_SANITIZER  cargo fuzz -s: address (default), none, leak, memory, thread. If the
#                   address sanitizer build fails, the script retries once with `none`.
#   FUZZ_TIMEOUT    seconds one input may take before it counts as a hang (default 10)
#   CARGO_BUILD_JOBS  as usual; set it to 1 on a shared machine
#
# cargo-fuzz needs nightly-only rustc flags (-Zsanitizer, sancov). On stable Rust they are
# unlocked with RUSTC_BOOTSTRAP=1, set here only for the cargo fuzz commands (fuzz/ has its
# own target directory, so the main build is not affected).
#
# Each target's corpus is fuzz/corpus/<target> (kept between runs, git-ignored), started
# from the committed seeds in fuzz/seeds/<target>. Crashes land in fuzz/artifacts/<target>/;
# reproduce one with `RUSTC_BOOTSTRAP=1 cargo fuzz run -a <target> <file>`.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
sanitizer=${FUZZ_SANITIZER:-address}
timeout=${FUZZ_TIMEOUT:-10}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
cargo fuzz --version

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi
echo "== fuzz targets: ${targets[*]} (${seconds}s each, sanitizer=$sanitizer)"

# -a: debug assertions and overflow checks on (release build otherwise).
echo "== building (sanitizer=$sanitizer)"
if ! cargo fuzz build -a -s "$sanitizer"; then
    if [ "$sanitizer" = address ]; then
        echo "!! the address-sanitizer build failed; retrying with -s none" >&2
        sanitizer=none
        cargo fuzz build -a -s "$sanitizer"
    else
        exit 1
    fi
fi

failed=()
for target in "${targets[@]}"; do
    corpus=fuzz/corpus/$target
    artifacts=fuzz/artifacts/$target
    mkdir -p "$corpus" "$artifacts"
    seeds=()
    if [ -d "fuzz/seeds/$target" ]; then
        seeds=("fuzz/seeds/$target")
    fi
    echo "== fuzz $target for ${seconds}s"
    log=$(mktemp)
    # The seeds run first, so a committed crash reproducer fails the run at once.
    if cargo fuzz run -a -s "$sanitizer" "$target" "$corpus" "${seeds[@]}" -- \
        -max_total_time="$seconds" -timeout="$timeout" -print_final_stats=1 >"$log" 2>&1; then
        grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$log" || true
    else
        echo "!! $target FAILED:" >&2
        # The panic message and backtrace (or the sanitizer report), then libFuzzer's summary.
        grep -m1 -A 24 -E "panicked at|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)" "$log" >&2 || tail -n 40 "$log" >&2
        grep -E "^SUMMARY|Test unit written" "$log" >&2 || true
        for f in $(grep -oE "Test unit written to [^ ]+" "$log" | awk '{print $5}'); do
            echo "!! reproducer $f ($(wc -c <"$f") bytes):" >&2
            od -An -tx1 -v "$f" | head -n 20 >&2
            echo "!! rerun: RUSTC_BOOTSTRAP=1 cargo fuzz run -a -s $sanitizer $target $f" >&2
        done
        failed+=("$target")
    fi
    rm -f "$log"
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "== fuzz: crashes in ${failed[*]}" >&2
    exit 1
fi
echo "== fuzz: ${#targets[@]} targets ran ${seconds}s each without a crash"
