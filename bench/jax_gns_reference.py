"""GNS-style graph network benchmark on JAX (CPU) -- reference for learnsim's GNS kernel benchmark.

Usage: python jax_gns_reference.py train|infer|xcheck [--steps K] [--warmup W]
Same model, data and initialisation as README.md beside this file describes.
"""
import os
import resource
import sys
import time

import numpy as np

MASK = (1 << 64) - 1


class Rng:
    def __init__(self, seed):
        self.s = seed

    def next_u64(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def unif(self, a, n):
        out = np.empty(n)
        for i in range(n):
            u = (self.next_u64() >> 11) / float(1 << 53)
            out[i] = (2.0 * u - 1.0) * a
        return out

    def idx(self, m, n):
        return np.array([self.next_u64() % m for _ in range(n)], dtype=np.int32)


BIG = dict(n=1000, e=20000, node_in=30, edge_in=3, latent=128, hidden=128, out=2, steps=10)


def param_sizes(c):
    v = [(c["node_in"], c["latent"], True), (c["edge_in"], c["latent"], True)]
    for _ in range(c["steps"]):
        v.append((3 * c["latent"], c["latent"], True))
        v.append((2 * c["latent"], c["latent"], True))
    v.append((c["latent"], c["out"], False))
    return v


def init_params(c, seed):
    r = Rng(seed)
    mlps = []
    for i, o, ln in param_sizes(c):
        m = {}
        for name, (a, b) in (("l1", (i, c["hidden"])), ("l2", (c["hidden"], o))):
            k = 1.0 / np.sqrt(a)
            m[name + "w"] = r.unif(k, a * b).reshape(a, b).astype(np.float32)
            m[name + "b"] = r.unif(k, b).astype(np.float32)
        if ln:
            m["g"] = (1.0 + r.unif(0.1, o)).astype(np.float32)
            m["beta"] = r.unif(0.1, o).astype(np.float32)
        mlps.append(m)
    return mlps


def make_data(c, seed):
    r = Rng(seed)
    x_node = r.unif(1.0, c["n"] * c["node_in"]).reshape(c["n"], c["node_in"]).astype(np.float32)
    x_edge = r.unif(1.0, c["e"] * c["edge_in"]).reshape(c["e"], c["edge_in"]).astype(np.float32)
    senders = r.idx(c["n"], c["e"])
    receivers = r.idx(c["n"], c["e"])
    target = r.unif(1.0, c["n"] * c["out"]).reshape(c["n"], c["out"]).astype(np.float32)
    return x_node, x_edge, senders, receivers, target


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "train"

    def arg(flag, d):
        return int(sys.argv[sys.argv.index(flag) + 1]) if flag in sys.argv else d

    steps = arg("--steps", 20 if mode == "infer" else 10)
    warmup = arg("--warmup", 3)

    import jax
    import jax.numpy as jnp
    import optax

    c = BIG
    t0 = time.time()
    params = init_params(c, 7)
    x_node, x_edge, senders, receivers, target = make_data(c, 42)
    print(f"jax {jax.__version__} devices={jax.devices()} data/init {time.time()-t0:.1f}s")
    params = jax.tree_util.tree_map(jnp.asarray, params)
    x_node, x_edge, senders, receivers, target = map(jnp.asarray, (x_node, x_edge, senders, receivers, target))
    N = c["n"]

    def mlp(m, x):
        h = jax.nn.relu(x @ m["l1w"] + m["l1b"]) @ m["l2w"] + m["l2b"]
        if "g" in m:
            mu = h.mean(-1, keepdims=True)
            var = ((h - mu) ** 2).mean(-1, keepdims=True)
            h = (h - mu) / jnp.sqrt(var + 1e-5) * m["g"] + m["beta"]
        return h

    def forward(p):
        v = mlp(p[0], x_node)
        e = mlp(p[1], x_edge)
        for s in range(c["steps"]):
            em, nm = p[2 + 2 * s], p[3 + 2 * s]
            e_new = mlp(em, jnp.concatenate([e, v[senders], v[receivers]], axis=1))
            agg = jax.ops.segment_sum(e_new, receivers, num_segments=N)
            v_new = mlp(nm, jnp.concatenate([v, agg], axis=1))
            e = e + e_new
            v = v + v_new
        return mlp(p[-1], v)

    def loss_fn(p):
        return jnp.mean((forward(p) - target) ** 2)

    if mode == "xcheck":
        l, g = jax.value_and_grad(loss_fn)(params)
        gn = float(jnp.sqrt(sum(jnp.sum(x.astype(jnp.float64) ** 2) for x in jax.tree_util.tree_leaves(g))))
        print(f"XCHECK loss={float(l):.7e} grad_norm={gn:.7e} grad[0]={float(g[0]['l1w'][0,0]):.7e} grad[last]={float(g[-1]['l2b'][-1]):.7e}")
        return

    if mode == "train":
        opt = optax.adam(1e-4, b1=0.9, b2=0.999, eps=1e-8)
        state = opt.init(params)

        @jax.jit
        def step(p, s):
            l, g = jax.value_and_grad(loss_fn)(p)
            u, s = opt.update(g, s, p)
            return optax.apply_updates(p, u), s, l

        tc = time.time()
        jax.block_until_ready(step.lower(params, state).compile())
        print(f"jit compile {time.time()-tc:.2f}s")
        times = []
        for it in range(warmup + steps):
            t = time.perf_counter()
            params, state, l = step(params, state)
            l = float(l)
            dt = time.perf_counter() - t
            if it >= warmup:
                times.append(dt)
            print(f"step {it} loss {l:.6f} {dt:.3f}s", file=sys.stderr)
        report("train", times)
    else:
        fwd = jax.jit(forward)
        times = []
        for it in range(warmup + steps):
            t = time.perf_counter()
            s = float(fwd(params).sum())
            dt = time.perf_counter() - t
            if it >= warmup:
                times.append(dt)
            print(f"fwd {it} sum {s:.4f} {dt:.4f}s", file=sys.stderr)
        report("infer", times)
    print(f"peak_rss_mb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024:.1f}")


def report(what, times):
    t = sorted(times)
    mean = sum(t) / len(t)
    med = t[len(t) // 2]
    print(f"RESULT {what}: mean {mean:.4f}s/step median {med:.4f}s/step -> {1/mean:.3f} steps/s (median {1/med:.3f}), n={len(t)}")


if __name__ == "__main__":
    if "xcheck" in sys.argv:
        os.environ.setdefault("JAX_ENABLE_X64", "0")
    main()
