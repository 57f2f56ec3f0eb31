"""GNS vs EGNN table of docs/equivariant.md from compare.sh's run folder (stdlib only).

Usage: python3 summarize.py WORKDIR  (the folder compare.sh ran in)
Each run's test-split rollout (runs/CASE-MODEL-sSEED.test.json, `learnsim rollout`) is judged
by the GNS bars of tgv-2d and dam-break-2d (crates/learnsim-cases/src/particle/pipeline.rs):
mse_20 <= 0.2x the better of constant velocity and ballistic, escaped share <= 0.001, mse_1 <=
0.1x the best of persistence, constant velocity and ballistic.
"""
import json
import re
import sys
from pathlib import Path

work = Path(sys.argv[1])
CASES = [("tgv", "tgv-2d"), ("dam", "dam-break-2d")]
MODELS = [("gns", "GNS"), ("egnn", "EGNN")]


def bars(d):
    m, b = d["metrics"], d["baselines"]
    r20 = m["mse_20"] / min(b[k]["mse_20"] for k in ("constant_velocity", "ballistic"))
    r1 = m["mse_1"] / min(b[k]["mse_1"] for k in ("persistence", "constant_velocity", "ballistic"))
    esc = m["escaped_fraction"]
    return r20, esc, r1, (r20 <= 0.2) + (esc <= 0.001) + (r1 <= 0.1)


def fmt(values, f="{:.2e}"):
    if not values:
        return "—"
    mean = sum(values) / len(values)
    return f.format(mean) + " (" + ", ".join(f.format(v) for v in values) + ")"


rows = []
for short, case in CASES:
    for model, label in MODELS:
        cols = {k: [] for k in ("mse_1", "mse_20", "mse_full", "sinkhorn_20", "ke_mse_20", "escaped_fraction", "r20", "r1", "met", "fps", "secs", "steps")}
        params = None
        for seed in range(3):
            base = work / "runs" / f"{short}-{model}-s{seed}"
            test = Path(str(base) + ".test.json")
            if not test.exists() or test.stat().st_size == 0:
                continue
            d = json.loads(test.read_text())
            for k in ("mse_1", "mse_20", "mse_full", "sinkhorn_20", "ke_mse_20", "escaped_fraction"):
                cols[k].append(d["metrics"][k])
            r20, esc, r1, met = bars(d)
            cols["r20"].append(r20)
            cols["r1"].append(r1)
            cols["met"].append(met)
            cols["fps"].append(d["rollout_steps_per_s"])
            said = Path(str(base) + ".train.txt").read_text()
            hit = re.search(r"trained (\d+) steps in ([0-9.]+) s \(\w+ network, (\d+) parameters\)", said)
            if hit:
                cols["steps"].append(int(hit.group(1)))
                cols["secs"].append(float(hit.group(2)))
                params = int(hit.group(3))
        rate = float((work / f"secs-{short}-{model}.txt").read_text())
        rows.append((case, label, cols, params, 1.0 / rate))

print("| case | model | seeds | params | steps (train s) | train steps/s | rollout frames/s | mse_1 / best | mse_20 | mse_20 / best | mse_full | Sinkhorn_20 | KE mse_20 | escaped | bars met |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for case, label, c, params, steps_per_s in rows:
    n = len(c["mse_20"])
    steps = ", ".join(f"{s} ({t:.0f})" for s, t in zip(c["steps"], c["secs"]))
    print(
        f"| {case} | {label} | {n} | {params or '—'} | {steps} | {steps_per_s:.2f} | "
        f"{fmt(c['fps'], '{:.1f}')} | {fmt(c['r1'], '{:.2f}')} | {fmt(c['mse_20'])} | {fmt(c['r20'], '{:.3f}')} | "
        f"{fmt(c['mse_full'])} | {fmt(c['sinkhorn_20'])} | {fmt(c['ke_mse_20'])} | "
        f"{fmt(c['escaped_fraction'], '{:.4f}')} | {', '.join(f'{m}/3' for m in c['met'])} |"
    )
