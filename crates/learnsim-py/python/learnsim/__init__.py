"""learnsim from Python: the cases, their ground-truth datasets, conversions between the
field's formats, and scoring of any model's rollouts under learnsim's protocol and bars.

    import learnsim
    learnsim.generate("water-drop-2d", "data/water", seed=0)
    report = learnsim.score(my_rollouts, "data/water", split="test")

Every function runs the code the ``learnsim`` command runs; errors are ``ValueError`` with the
command's message.
"""

from learnsim._native import (
    DEFAULT_CONTEXT,
    __version__,
    baselines,
    cases,
    convert,
    generate,
    load_dataset,
    score,
)

__all__ = [
    "DEFAULT_CONTEXT",
    "__version__",
    "baselines",
    "cases",
    "convert",
    "generate",
    "load_dataset",
    "score",
]
