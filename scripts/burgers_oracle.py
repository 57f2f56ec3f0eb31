#!/usr/bin/env python3
"""What the exact Burgers equation gives on the burgers-2d model grid.

Reads the test split that `learnsim run burgers-2d` wrote (RUN/data/test.hdf5, The Well's
layout: t1_fields/velocity [trajectory, time, x, y, 2]) and rolls every test trajectory out
from its first frame with the true PDE, u_t + u·∇u = ν Δu and the true ν, under classical
stencils on the same grid, scoring the relative L2 error at the last frame as PDE-Net 2.0's
_test.py does (and as the case's bar does): sqrt(mean over trajectories of
Σ_c mean(û − u)² / Σ_c var(u)).

It answers: how much of a learned model's error is the grid's? The data are computed on a
grid twice as fine and strided, so every scheme on the model grid starts under-resolved. Two
spectral runs (Fourier derivatives, 2/3 rule, RK4) close the list: one on the model grid, and
one on a grid 4x finer, which is the PDE's own solution to within its resolution; its
distance from the data is the data's own discretisation error, which no model that is the
exact PDE can get under.

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

    def spectral(m):
        """The PDE by Fourier derivatives on an m² grid, 2/3-rule dealiased, RK4 in 4 substeps
        per frame; fields are carried over from the model grid by Fourier interpolation (the
        initial fields have modes |k| <= 4 only, so nothing is lost) and sampled back."""
        k = np.fft.fftfreq(m, 1.0 / m)
        kx, ky = np.meshgrid(k, k, indexing="ij")
        keep = (np.abs(kx) < m / 3) & (np.abs(ky) < m / 3)
        lap = -(kx**2 + ky**2)

        def f(uh, vh):
            u, v = np.fft.ifft2(uh).real, np.fft.ifft2(vh).real
            out = []
            for ah in (uh, vh):
                ax = np.fft.ifft2(1j * kx * ah).real
                ay = np.fft.ifft2(1j * ky * ah).real
                out.append(keep * (-np.fft.fft2(u * ax + v * ay)) + nu * lap * ah)
            return out

        def resample(a, to):
            ah = np.fft.fft2(a)
            frm = a.shape[0]
            out = np.zeros((to, to), dtype=complex)
            half = min(frm, to) // 2
            idx = np.r_[0:half, -half + 1 : 0]
            out[np.ix_(idx, idx)] = ah[np.ix_(idx, idx)]
            return np.fft.ifft2(out).real * (to / frm) ** 2

        step = rk4(f)

        def run(u, v):
            uh, vh = np.fft.fft2(resample(u, m)) * keep, np.fft.fft2(resample(v, m)) * keep
            for _ in range(steps):
                uh, vh = step(uh, vh)
            return resample(np.fft.ifft2(uh).real, n), resample(np.fft.ifft2(vh).real, n)

        return run

    def error(step, whole=False):
        total = 0.0
        for t in range(trajectories):
            u, v = velocity[t, 0, :, :, 0].copy(), velocity[t, 0, :, :, 1].copy()
            if whole:
                u, v = step(u, v)
            else:
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
    # Whole rollouts at once: the spectral runs carry their fields on their own grid.
    for m, what in [(n, "the model grid"), (4 * n, "a 4x finer grid: the PDE's own solution")]:
        with np.errstate(all="ignore"):
            value = error(spectral(m), whole=True)
        print(f"relative L2 at t = {steps * dt:.2f}: {value:.4f}  spectral, 2/3 rule, RK4, on {what}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: burgers_oracle.py RUN/data/test.hdf5")
    main(sys.argv[1])
