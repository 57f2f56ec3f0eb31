#!/usr/bin/env bash
# The GNS kernel benchmark side by side: learnsim (burn, `learnsim bench gns-kernel`) against
# the JAX reference (bench/jax_gns_reference.py, the stack of LagrangeBench), same model, data
# and initialisation. Runs alternate (ours, JAX, ours, JAX, ...) so that drift of a shared
# machine hits both; prints each run's median s/step and peak RSS, then the ratio of the
# medians of the medians.
#
#   bench/compare-gns.sh            # 3 rounds of train and of infer
#   ROUNDS=5 bench/compare-gns.sh
#   JAXREF_VENV=/some/venv bench/compare-gns.sh   # reuse a venv that has jax installed
#   LEARNSIM_KERNEL=burn bench/compare-gns.sh      # time burn's tensor path instead of the
#                                                  # fused CPU kernels (the default)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
LEARNSIM_KERNEL=${LEARNSIM_KERNEL:-fused}
if [[ -z "${JAXREF_VENV:-}" ]]; then
    JAXREF_VENV="$(mktemp -d)/venv"
    trap 'rm -rf "$(dirname "$JAXREF_VENV")"' EXIT
fi
if [[ ! -x "$JAXREF_VENV/bin/python" ]] || ! "$JAXREF_VENV/bin/python" -c "import jax, optax" 2>/dev/null; then
    echo "== installing the JAX reference into $JAXREF_VENV" >&2
    python3 -m venv "$JAXREF_VENV"
    "$JAXREF_VENV/bin/pip" install -q jax==0.10.2 jaxlib==0.10.2 optax numpy
fi
echo "== building learnsim" >&2
cargo build --release -q -p learnsim-cli
OURS=target/release/learnsim
LOG=$(mktemp)

# median s/step and peak RSS of one run's stdout: "<median> <rss>"
parse() {
    python3 -c '
import re, sys
text = sys.stdin.read()
m = re.search(r"median ([0-9.]+)s/step", text)
r = re.search(r"peak_rss_mb ([0-9.]+)", text)
print(m.group(1) if m else "nan", r.group(1) if r else "nan")'
}

for mode in train infer; do
    for round in $(seq "$ROUNDS"); do
        ours=$("$OURS" bench gns-kernel --mode "$mode" --kernel "$LEARNSIM_KERNEL" 2>/dev/null | parse)
        jax=$("$JAXREF_VENV/bin/python" bench/jax_gns_reference.py "$mode" 2>/dev/null | parse)
        echo "$mode round $round: learnsim ($LEARNSIM_KERNEL) ${ours% *} s/step (rss ${ours#* } MB), jax ${jax% *} s/step (rss ${jax#* } MB)" >&2
        echo "$mode $ours $jax" >> "$LOG"
    done
done

python3 - "$LOG" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
print("| mode | learnsim median s/step | JAX median s/step | speed ratio (JAX time / ours) | learnsim peak RSS MB | JAX peak RSS MB | RSS ratio |")
print("|---|---|---|---|---|---|---|")
for mode in ("train", "infer"):
    r = [x for x in rows if x[0] == mode]
    ours = statistics.median(float(x[1]) for x in r)
    jax = statistics.median(float(x[3]) for x in r)
    ours_rss = max(float(x[2]) for x in r)
    jax_rss = max(float(x[4]) for x in r)
    print(f"| {mode} | {ours:.4f} | {jax:.4f} | {jax / ours:.2f}x | {ours_rss:.0f} | {jax_rss:.0f} | {ours_rss / jax_rss:.2f} |")
PY
rm -f "$LOG"
