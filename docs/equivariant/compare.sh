#!/bin/bash
# GNS against the equivariant network (issue #32) on tgv-2d and dam-break-2d, CPU tier, at one
# wall-clock training budget per run, seeds 0-2; then `python3 summarize.py WORK` prints the
# table of docs/equivariant.md. About 90 minutes on two cores at BUDGET=300.
#
# Usage: docs/equivariant/compare.sh WORK   (from the repository root, after
#        `cargo build --release -p learnsim-cli`)
# Each model's steps are the budget over its seconds per step, measured by a short probe run on
# the same data (150 GNS steps, 40 EGNN steps: the probe's fixed costs are then a few percent);
# the learning rate decays over those steps as the shipped recipe's does over its 6000.
set -eu
L=$PWD/target/release/learnsim
BUDGET=${BUDGET:-300}
WORK=$1
mkdir -p "$WORK/runs"
for pair in tgv:tgv-2d dam:dam-break-2d; do
  c=${pair%%:*}; case=${pair#*:}
  [ -d "$WORK/data-$c" ] || $L generate "$case" --out "$WORK/data-$c" -q
  sed '/^\[tiers/,$d' "configs/$case.toml" > "$WORK/$c-gns.toml"
  sed '/^\[tiers/,$d' "configs/$case.toml" | sed 's/^seed = 0/seed = 0\nmodel = "egnn"/' > "$WORK/$c-egnn.toml"
done
cd "$WORK"
rate() { # case model steps -> training seconds of a probe run
  local c=$1 m=$2 n=$3
  sed "s/^steps = 6000/steps = $n/; s/^validate_every = 500/validate_every = 100000/; s/^checkpoint_every = 500/checkpoint_every = 100000/" $c-$m.toml > rate-$c-$m.toml
  rm -rf rate-$c-$m
  $L train --data data-$c --config rate-$c-$m.toml --out rate-$c-$m -q | sed -E 's/.*trained [0-9]+ steps in ([0-9.]+) s.*/\1/'
}
for c in tgv dam; do for m in gns egnn; do
  if [ ! -f secs-$c-$m.txt ]; then
    n=$([ $m = gns ] && echo 150 || echo 40)
    s=$(rate $c $m $n); echo "$c $m probe $n steps in $s s" >> log.txt
    python3 -c "print($s/$n)" > secs-$c-$m.txt
  fi
done; done
for seed in 0 1 2; do for c in tgv dam; do for m in gns egnn; do
  steps=$(python3 -c "print(int(round($BUDGET/$(cat secs-$c-$m.txt))))")
  v=$(( steps / 4 ))
  sed "s/^steps = 6000/steps = $steps/; s/^lr_decay_steps = 6000.0/lr_decay_steps = $steps.0/; s/^validate_every = 500/validate_every = $v/; s/^checkpoint_every = 500/checkpoint_every = $steps/" $c-$m.toml > run-$c-$m.toml
  out=runs/$c-$m-s$seed
  if [ ! -f $out/done ]; then
    $L train --data data-$c --config run-$c-$m.toml --seed $seed --out $out -q > $out.train.txt 2>&1
    $L rollout --run $out --data data-$c --split test -q > $out.test.json 2> $out.rollout.err
    touch $out/done
  fi
  echo "$(date +%T) $c $m seed $seed steps $steps: $(tail -1 $out.train.txt)" >> log.txt
done; done; done
