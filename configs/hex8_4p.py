"""RingRift hex8 4-player: `python scripts/train.py --config hex8_4p.py` (workdir runs/hex8_4p).

`--config configs/hex8_4p.py:tiny` is the CPU smoke-test variant (1 block x 8 channels, 4 games, 4 simulations).
"""

from jaxzero.config import ringrift_config


def get_config(arg=None):
    return ringrift_config("hex8", 4, arg)
