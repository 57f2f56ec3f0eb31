#!/usr/bin/env python3
"""What the exact Burgers equation gives on the burgers-2d model grid.

Reads the test split that `learnsim run burgers-2d` wrote (RUN/data/test.hdf5, The Well's
layout: t1_fields/velocity [trajectory, time, x, y, 2]) and rolls every test trajectory out
from its first frame with the true PDE, u_t + u·∇u = ν Δu and the true ν, under classical
stencils on the same grid, scoring the relative L2 error at the last frame as PDE-Net 2.0's
_test.py does (and as the case's bar does): sqrt(mean over trajectories of
Σ_c mean(û − u)² / Σ_c var(u)).

It answers: how much of a learned model's error is the grid's? The data are computed on a
grid twice as fine and strided, so every scheme on the model grid starts under-resolved.

    .venv/bin/python scripts/burgers_oracle.py RUN/data/test.hdf5
"""

import sys

import h5py
import numpy as np


def main(path):
    with h5py.File(path, "r") as f:
        if "t1_fields/velocity" not in f:
            sys.exit(f"{path}: no t1_fields/velocity (not a burgers-2d test split)")
        velocity = f["t1_fields/velocity"][:].astype(np.float64)
        nu = float(f.attrs["viscosity"])
        time = f["dimensions/time"][:]
    trajectories, frames, n = velocity.shape[0], velocity.shape[1], velocity.shape[2]
    dt = float(time[1] - time[0])
    h = 2.0 * np.pi / n
    steps = frames - 1

    def roll(a, shift, axis):
        return np.roll(a, shift, axis)

    def upwind2(a, vel, axis):
        back = (3 * a - 4 * roll(a, 1, axis) + roll(a, 2, axis)) / (2 * h)
        fwd = (-3 * a + 4 * roll(a, -1, axis) - roll(a, -2, axis)) / (2 * h)
        return np.where(vel >= 0, back, fwd)

    def upwind3(a, vel, axis):
        back = (2 * roll(a, -1, axis) + 3 * a - 6 * roll(a, 1, axis) + roll(a, 2, axis)) / (6 * h)
        fwd = (-2 * roll(a, 1, axis) - 3 * a + 6 * roll(a, -1, axis) - roll(a, -2, axis)) / (6 * h)
        return np.where(vel >= 0, back, fwd)

    def laplacian2(a):
        return (roll(a, 1, 0) + roll(a, -1, 0) + roll(a, 1, 1) + roll(a, -1, 1) - 4 * a) / h**2

    def laplacian4(a):
        return sum(
            (-roll(a, -2, ax) + 16 * roll(a, -1, ax) - 30 * a + 16 * roll(a, 1, ax) - roll(a, 2, ax))
            / (12 * h * h)
            for ax in (0, 1)
        )

    def rhs(derivative, laplacian):
        def f(u, v):
            return (
                -u * derivative(u, u, 0) - v * derivative(u, v, 1) + nu * laplacian(u),
                -u * derivative(v, u, 0) - v * derivative(v, v, 1) + nu * laplacian(v),
            )

        return f

    def euler(f):
        def step(u, v):
            a, b = f(u, v)
            return u + dt * a, v + dt * b

        return step

    def rk4(f, substeps=4):
        d = dt / substeps

        def step(u, v):
            for _ in range(substeps):
                k1 = f(u, v)
                k2 = f(u + d / 2 * k1[0], v + d / 2 * k1[1])
                k3 = f(u + d / 2 * k2[0], v + d / 2 * k2[1])
                k4 = f(u + d * k3[0], v + d * k3[1])
                u = u + d / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
                v = v + d / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
            return u, v

        return step

    def error(step):
        total = 0.0
        for t in range(trajectories):
            u, v = velocity[t, 0, :, :, 0].copy(), velocity[t, 0, :, :, 1].copy()
            for _ in range(steps):
                u, v = step(u, v)
            tu, tv = velocity[t, steps, :, :, 0], velocity[t, steps, :, :, 1]
            total += (np.mean((u - tu) ** 2) + np.mean((v - tv) ** 2)) / (np.var(tu) + np.var(tv))
        return float(np.sqrt(total / trajectories))

    schemes = [
        ("persistence", lambda u, v: (u, v)),
        ("2nd-order upwind, 5-point Laplacian, forward Euler", euler(rhs(upwind2, laplacian2))),
        ("2nd-order upwind, 5-point Laplacian, RK4 (4 substeps)", rk4(rhs(upwind2, laplacian2))),
        ("3rd-order upwind, 4th-order Laplacian, forward Euler", euler(rhs(upwind3, laplacian4))),
        ("3rd-order upwind, 4th-order Laplacian, RK4 (4 substeps)", rk4(rhs(upwind3, laplacian4))),
    ]
    print(f"{path}: {trajectories} trajectories, {n}² grid, ν = {nu}, {steps} steps of {dt}")
    for name, step in schemes:
        with np.errstate(all="ignore"):
            value = error(step)
        print(f"relative L2 at t = {steps * dt:.2f}: {value:.4f}  {name}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: burgers_oracle.py RUN/data/test.hdf5")
    main(sys.argv[1])
