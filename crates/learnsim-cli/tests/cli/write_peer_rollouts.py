"""Writes constant-velocity rollouts of a learnsim dataset's test split in the peers' layouts,
with numpy, h5py and pickle only (none of learnsim's writers): what `learnsim score` must read.

usage: write_peer_rollouts.py DATA OUT CONTEXT

- OUT/deepmind/rollout_test_{i}.pkl: DeepMind's `train.py` eval layout (protocol 4, numpy's
  `_reconstruct` arrays), DeepMind type ids;
- OUT/lagrangebench/rollout_{i}.pkl: LagrangeBench's `eval_rollout` layout, pickled at
  protocol 5 (numpy's `_frombuffer` arrays), LagrangeBench type ids;
- OUT/jax/rollout_{i}.pkl: the same, with every array pickled as a JAX array pickles itself
  (`jax._src.array._reconstruct_array(*ndarray.__reduce__(), aval_state)`, as in JAX's
  `Array.__reduce__`), from a stand-in module since JAX is not installed;
- OUT/full.npz: `rollout_0`, `rollout_1`, ... `[T, N, D]` from frame 0, one member per
  trajectory (their particle counts differ) (np.savez);
- OUT/predicted.h5: the same `[T - C, N, D]` as float64, the predictions alone (h5py);
- OUT/valid.npz: the valid split's rollouts as one `predicted_rollout [traj, T, N, D]`;
- OUT/misshapen.npz, OUT/short.npz, OUT/first.npz: one particle short; one frame short; the
  first trajectory alone;
- OUT/shifted/, OUT/retyped/: LagrangeBench pickles whose ground truth is a frame late, whose
  particle 0 has another type.
"""

import json
import os
import pickle
import sys
import types

import h5py
import numpy as np

data, out, context = sys.argv[1], sys.argv[2], int(sys.argv[3])
meta = json.load(open(os.path.join(data, "metadata.json")))
convention = meta["particle_type_convention"]
# Type ids of the kinds in both conventions (water, wall, rigid), as DeepMind's datasets and
# LagrangeBench's NodeType number them.
lagrangebench_to_deepmind = {0: 5, 1: 3, 3: 0}
deepmind_to_lagrangebench = {5: 0, 3: 1, 0: 3}

def positions(split):
    with h5py.File(os.path.join(data, f"{split}.h5"), "r") as f:
        return [np.asarray(f[name]["position"], dtype=np.float32) for name in sorted(f.keys())]


truths, kinds = positions("test"), []
with h5py.File(os.path.join(data, "test.h5"), "r") as f:
    for name in sorted(f.keys()):
        ids = [int(t) for t in f[name]["particle_type"]]
        if convention == "deepmind":
            deepmind, lagrangebench = ids, [deepmind_to_lagrangebench[t] for t in ids]
        else:
            deepmind, lagrangebench = [lagrangebench_to_deepmind[t] for t in ids], ids
        kinds.append((np.array(deepmind, np.int64), np.array(lagrangebench, np.int32)))


def constant_velocity(x):
    """x_{t+1} = 2 x_t - x_{t-1} from the first `context` true frames, in float32."""
    p = x.copy()
    for t in range(context, len(x)):
        p[t] = 2 * p[t - 1] - p[t - 2]
    return p


predicted = [constant_velocity(x) for x in truths]


# A stand-in for jax._src.array, so that pickle names the global JAX's arrays name.
def _reconstruct_array(fun, args, arr_state, aval_state):
    arr = fun(*args)
    arr.__setstate__(arr_state)
    return arr


_reconstruct_array.__module__ = "jax._src.array"
for name in ["jax", "jax._src", "jax._src.array"]:
    sys.modules[name] = types.ModuleType(name)
sys.modules["jax._src.array"]._reconstruct_array = _reconstruct_array


class JaxArray:
    def __init__(self, a):
        self.a = a

    def __reduce__(self):
        fun, args, arr_state = self.a.__reduce__()
        return (_reconstruct_array, (fun, args, arr_state, {"weak_type": False}))


for folder in ["deepmind", "lagrangebench", "jax"]:
    os.makedirs(os.path.join(out, folder), exist_ok=True)
for i, (x, p, k) in enumerate(zip(truths, predicted, kinds)):
    with open(os.path.join(out, "deepmind", f"rollout_test_{i}.pkl"), "wb") as f:
        pickle.dump(
            {
                "initial_positions": x[:context],
                "predicted_rollout": p[context:],
                "ground_truth_rollout": x[context:],
                "particle_types": k[0],
                "metadata": meta,
            },
            f,
            protocol=4,
        )
    rollout = {"predicted_rollout": p, "ground_truth_rollout": x, "particle_type": k[1]}
    with open(os.path.join(out, "lagrangebench", f"rollout_{i}.pkl"), "wb") as f:
        pickle.dump(rollout, f, protocol=5)
    with open(os.path.join(out, "jax", f"rollout_{i}.pkl"), "wb") as f:
        pickle.dump({k: JaxArray(v) for k, v in rollout.items()}, f)

members = {f"rollout_{i}": p for i, p in enumerate(predicted)}
np.savez(os.path.join(out, "full.npz"), **members)
with h5py.File(os.path.join(out, "predicted.h5"), "w") as f:
    for name, p in members.items():
        f.create_dataset(name, data=p[context:].astype(np.float64))
valid = np.stack([constant_velocity(x) for x in positions("valid")])
np.savez(os.path.join(out, "valid.npz"), predicted_rollout=valid)
np.savez(os.path.join(out, "misshapen.npz"), **{k: p[:, 1:] for k, p in members.items()})
np.savez(os.path.join(out, "short.npz"), **{k: p[:-1] for k, p in members.items()})
np.savez(os.path.join(out, "first.npz"), rollout_0=predicted[0])
for folder in ["shifted", "retyped"]:
    os.makedirs(os.path.join(out, folder), exist_ok=True)
for i, (x, p, k) in enumerate(zip(truths, predicted, kinds)):
    late = np.concatenate([x[1:], x[-1:]])
    with open(os.path.join(out, "shifted", f"rollout_{i}.pkl"), "wb") as f:
        pickle.dump({"predicted_rollout": p, "ground_truth_rollout": late, "particle_type": k[1]}, f)
    retyped = k[1].copy()
    retyped[0] = 3 - retyped[0] if retyped[0] in (0, 1) else 0
    with open(os.path.join(out, "retyped", f"rollout_{i}.pkl"), "wb") as f:
        pickle.dump({"predicted_rollout": p, "ground_truth_rollout": x, "particle_type": retyped}, f)
