"""Train with the closed self-play loop.

    python scripts/train.py --config configs/connect4.py [--config.train.learning_rate=1e-3 ...] --workdir DIR

Running the same command again resumes after the last complete iteration.
"""

from __future__ import annotations

from absl import app, flags, logging
from ml_collections import config_flags

from jaxzero import paths

_CONFIG = config_flags.DEFINE_config_file("config", None, "Config file (configs/*.py).", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics.jsonl and TensorBoard events.")
_NO_PROGRESS = flags.DEFINE_bool("no_progress", False, "Hide the self-play progress bar.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # orbax logs every save step at INFO
    paths.enable_compilation_cache()
    from jaxzero import loop

    loop.run(_CONFIG.value, _WORKDIR.value, progress=not _NO_PROGRESS.value)


if __name__ == "__main__":
    app.run(main)
