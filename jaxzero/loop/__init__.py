"""The closed self-play loop (see `jaxzero.loop.run` for the iteration story).

Rooms: `parts` (what a run is built from, once per config), `state` (what a checkpoint holds and a
run carries), `data` (windows of play -> replay rows), `training`, `bootstrap` (the first best from
heuristic games), `gate` (promotion), `anchors` (the best vs fixed opponents, Elo), `metrics` (the
row per iteration and where it goes), `run` (the `Loop`).
"""

from jaxzero.loop.bootstrap import BOOTSTRAP_METRIC_KEYS
from jaxzero.loop.data import trajectory_to_batch
from jaxzero.loop.gate import heuristic_drop, promotion_decision
from jaxzero.loop.metrics import HEURISTIC_METRIC_KEYS, METRIC_KEYS
from jaxzero.loop.run import Loop, run

__all__ = [
    "BOOTSTRAP_METRIC_KEYS",
    "HEURISTIC_METRIC_KEYS",
    "METRIC_KEYS",
    "Loop",
    "heuristic_drop",
    "promotion_decision",
    "run",
    "trajectory_to_batch",
]
