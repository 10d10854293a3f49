"""RingRift hex8 2-player: `python scripts/train.py --config hex8.py` (workdir runs/hex8).

`--config configs/hex8.py:tiny` is the CPU smoke-test variant (1 block x 8 channels, 4 games, 4 simulations).
"""

from jaxzero.config import ringrift_config


def get_config(arg=None):
    return ringrift_config("hex8", 2, arg)
