"""Times POT (Python Optimal Transport) on the clouds `learnsim bench sinkhorn --clouds FILE`
wrote, for the same debiased divergence, and prints a table beside ours.

    python scripts/bench_sinkhorn_pot.py FILE [--max-n 2500]

POT's log-domain solver (`ot.sinkhorn(..., method="sinkhorn_log")`) gives each OT_eps term's
plan; its value is <C, P> + eps * KL(P | a b^T) (the definition learnsim uses, see
scripts/fixtures/sinkhorn_pot.py), with the cost's minimum image on periodic axes. POT stops
when the marginal error is below 1e-6 (numItermax 10000). It holds the dense N x M cost
matrix and takes minutes per problem at N = 2,000, so it runs on problems up to --max-n
particles and on the 2D open ones (the bar's case) up to --max-open.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import ot

# The cost (squared distance, minimum image on periodic axes) of the test fixtures' generator.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
from sinkhorn_pot import cost  # noqa: E402


def entropic_ot(x, y, period, eps):
    c = cost(x, y, period)
    a, b = np.full(len(x), 1.0 / len(x)), np.full(len(y), 1.0 / len(y))
    plan = ot.sinkhorn(a, b, c, eps, method="sinkhorn_log", numItermax=10000, stopThr=1e-6)
    mask = plan > 0
    kl = (plan[mask] * np.log(plan[mask] / np.outer(a, b)[mask])).sum()
    return (c * plan).sum() + eps * kl


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("clouds")
    parser.add_argument("--max-n", type=int, default=600)
    parser.add_argument("--max-open", type=int, default=2500)
    args = parser.parse_args()
    problems = json.load(open(args.clouds))
    print(f"POT {ot.__version__}, numpy {np.__version__}")
    print(f"{'problem':<34} {'ours s':>8} {'POT s':>8} {'POT/ours':>9} {'|S_ours - S_POT|/eps':>21}")
    for p in problems:
        dim, eps, period = p["dim"], p["epsilon"], p["period"]
        x = np.asarray(p["x"], dtype=np.float64).reshape(-1, dim)
        y = np.asarray(p["y"], dtype=np.float64).reshape(-1, dim)
        limit = args.max_open if p["name"].endswith("2D open") else args.max_n
        if len(x) > limit:
            print(f"{p['name']:<34} {p['ours_s']:>8.3f} {'-':>8} {'-':>9} {'-':>21}")
            continue
        clock = time.perf_counter()
        s = entropic_ot(x, y, period, eps) - 0.5 * entropic_ot(x, x, period, eps) - 0.5 * entropic_ot(y, y, period, eps)
        seconds = time.perf_counter() - clock
        print(
            f"{p['name']:<34} {p['ours_s']:>8.3f} {seconds:>8.2f} {seconds / p['ours_s']:>8.0f}x"
            f" {abs(s - p['ours']) / eps:>21.1e}"
        )


if __name__ == "__main__":
    main()
