"""RingRift square8 2-player: `python scripts/train.py --config sq8.py` (workdir runs/sq8).

`--config configs/sq8.py:tiny` is the CPU smoke-test variant (1 block x 8 channels, 4 games, 4 simulations);
`--config configs/sq8.py:cpu` is the setting for a real run on a 2-core CPU (see BENCHMARKS.md).
"""

from jaxzero.config import ringrift_config


def get_config(arg=None):
    return ringrift_config("square8", 2, arg)
