"""The Python package against data from learnsim's own simulators: every function, its
errors, and a JAX-free example that trains nothing and scores the constant-velocity baseline
against a case's bars.

Run by scripts/test.sh after `maturin develop` into .venv: `python -m pytest crates/learnsim-py`.
"""

import json

import numpy as np
import pytest

import learnsim

CONTEXT = learnsim.DEFAULT_CONTEXT


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """dam-break-2d at 30 frames, 1/1/2 trajectories: kinematic walls, LagrangeBench ids,
    test trajectories of different particle counts."""
    out = tmp_path_factory.mktemp("data") / "dam"
    summary = learnsim.generate("dam-break-2d", str(out), seed=0, frames=30, trajectories=(1, 1, 2))
    assert "dam-break-2d" in summary
    return out


def constant_velocity(x):
    """x_{t+1} = 2 x_t - x_{t-1} from the first CONTEXT true frames, in float32."""
    p = x.copy()
    for t in range(CONTEXT, len(x)):
        p[t] = 2 * p[t - 1] - p[t - 2]
    return p


def test_cases_lists_every_registered_case():
    cases = learnsim.cases()
    names = [c["name"] for c in cases]
    assert "water-drop-2d" in names and "boxbath-2d" in names and "kolmogorov-2d" in names
    assert len(names) == 18
    kinds = {c["name"]: c["kind"] for c in cases}
    assert kinds["dam-break-2d"] == "particle" and kinds["nbody-2d"] == "object"
    assert all(c["description"] for c in cases)


def test_load_dataset_returns_the_split_as_numpy_arrays(data):
    test = learnsim.load_dataset(str(data), "test")
    meta = test["metadata"]
    assert meta["case"] == "dam-break-2d" and meta["dim"] == 2
    assert meta["particle_type_convention"] == "lagrangebench"
    assert len(test["trajectories"]) == meta["num_trajectories"][2]
    for t in test["trajectories"]:
        x, k = t["position"], t["particle_type"]
        assert x.dtype == np.float32 and x.ndim == 3 and x.shape[2] == 2
        assert k.dtype == np.int64 and k.shape == (x.shape[1],)
        # Fluid (0) and wall (1) particles, the walls kinematic: at rest throughout.
        assert set(np.unique(k)) <= {0, 1}
        walls = k == 1
        assert np.array_equal(x[0, walls], x[-1, walls])
        lo, hi = np.array(meta["bounds"]).T
        fluid = x[:, ~walls]
        assert np.all(fluid >= lo - 1e-6) and np.all(fluid <= hi + 1e-6)
    with pytest.raises(ValueError, match="allowed train, valid or test"):
        learnsim.load_dataset(str(data), "training")


def test_baselines_are_scored_under_the_windowed_protocol(data):
    b = learnsim.baselines(str(data), "test")
    assert set(b) == {"persistence", "constant_velocity", "ballistic"}
    # 30-frame trajectories: one window each (from frame 0), 24 predicted frames.
    assert b["persistence"]["windows"] == 2.0
    assert "mse_20" in b["persistence"] and "mse_50" not in b["persistence"]
    # A fluid column falling under gravity: persistence, which never moves, is worst at 20.
    assert b["persistence"]["mse_20"] > b["constant_velocity"]["mse_20"] > 0


def test_constant_velocity_made_in_numpy_scores_as_learnsim_s_own(data):
    """The JAX-free example: no training, numpy predictions scored against the bars."""
    test = learnsim.load_dataset(str(data), "test")
    pred = [constant_velocity(t["position"]) for t in test["trajectories"]]
    report = learnsim.score(pred, str(data), split="test", model="numpy-cv")
    assert report["model"] == "numpy-cv" and report["case"] == "dam-break-2d"
    # The same predictions as learnsim's ConstantVelocity, on the same window: the same
    # metrics to the bit.
    assert report["metrics"] == report["baselines"]["constant_velocity"]
    bars = {b["name"]: b for b in report["bars"]}
    assert bars["mse_20 / best baseline mse_20"]["value"] == pytest.approx(1.0)
    assert report["pass"] is False
    # The predictions alone (without the input frames), and float64, score the same.
    alone = [p[CONTEXT:].astype(np.float64) for p in pred]
    again = learnsim.score(alone, str(data), split="test", model="numpy-cv")
    assert again["metrics"] == report["metrics"]


def test_score_refuses_what_does_not_fit_with_the_command_s_messages(data):
    test = learnsim.load_dataset(str(data), "test")
    pred = [constant_velocity(t["position"]) for t in test["trajectories"]]
    with pytest.raises(ValueError, match=r"pred\[0\]: axis 1 \(particles\) holds"):
        learnsim.score([p[:, 1:] for p in pred], str(data))
    with pytest.raises(ValueError, match="1 rollouts given; the test split has 2 trajectories"):
        learnsim.score(pred[:1], str(data))
    with pytest.raises(ValueError, match="frames 0..7 are the model's input"):
        learnsim.score(pred, str(data), context=7)
    with pytest.raises(ValueError, match="name the particle case whose bars judge it"):
        learnsim.score(pred, str(data), case="kolmogorov-2d")


def test_convert_round_trips_through_deepmind_s_format(data, tmp_path):
    summary = learnsim.convert(str(data), str(tmp_path / "dm"), to="deepmind")
    assert "deepmind" in summary
    back = learnsim.load_dataset(str(tmp_path / "dm"), "test")
    ours = learnsim.load_dataset(str(data), "test")
    for a, b in zip(ours["trajectories"], back["trajectories"]):
        assert np.array_equal(a["position"], b["position"])
    with pytest.raises(ValueError, match="allowed"):
        learnsim.convert(str(data), str(tmp_path / "x"), to="parquet")


def test_generate_refuses_an_unknown_case_and_tier(tmp_path):
    with pytest.raises(ValueError, match="water-drop"):
        learnsim.generate("water-drop", str(tmp_path / "w"))
    with pytest.raises(ValueError, match='allowed "cpu" or "paper"'):
        learnsim.generate("water-drop-2d", str(tmp_path / "w"), tier="huge")
    json.dumps(learnsim.cases())
