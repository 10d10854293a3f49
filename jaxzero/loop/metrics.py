"""One metrics row per iteration: what it holds, where it goes (metrics.jsonl, TensorBoard, elo.png, a log line).

To add a metric: put it in the row `iteration_row` builds (and in `METRIC_KEYS` if every row has it);
`MetricsLog.write` sends every numeric value to TensorBoard on its own.
"""

from __future__ import annotations

import json
import math
import os
import resource
from pathlib import Path

from jaxzero.data_quality import DUPLICATE_WARNING
from jaxzero.elo import ANCHOR, plot_elo, read_metrics

def memory_mib() -> dict:
    """This process's resident memory now and at its peak so far, in MiB (``rss_mib`` only where
    ``/proc`` exists), and the bytes its live JAX arrays hold (``live_arrays_mib``): flat live arrays
    under a growing RSS point at the allocator or compiled-code caches, not at data. Every key ends in
    ``_mib``: resume-equality checks leave them out, as they leave out ``_seconds``."""
    import jax

    live = sum(x.nbytes for x in jax.live_arrays())
    out = {"rss_peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),  # KiB on Linux
           "live_arrays_mib": round(live / 2**20, 1)}
    try:
        with open("/proc/self/statm") as f:
            out["rss_mib"] = round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    return out


# in every row
METRIC_KEYS = (
    "iteration",
    "games",
    "positions",
    "selfplay_seconds",
    "train_seconds",
    "loss/policy",
    "loss/value",
    "policy_accuracy",
    "arena/score",
    "arena/ci_low",
    "arena/ci_high",
    "promoted",
    "vs_random/score",
    "truncated",
    "arena/truncated",
    "data/heuristic_share",
    "gate/decision",
    "rollback",
    "elo",
    "vs_random/ci_low",
    "vs_random/ci_high",
    "data/duplicate_rate",
    "data/length/mean",
    "data/length/max",
    "data/term/truncated",
    "vs_random/measured_at",
    "value_targets",
    "value_targets_late",
)
# with a heuristic anchor (config.elo.heuristic_games > 0 and a heuristic player)
HEURISTIC_METRIC_KEYS = ("vs_heuristic/score", "vs_heuristic/ci_low", "vs_heuristic/ci_high", "elo/heuristic")


def _summary(prefix: str, s: dict | None) -> dict:
    """A match summary's score, interval, games and unfinished games under ``prefix/``."""
    keys = ("score", "ci_low", "ci_high")
    out = {f"{prefix}/{k}": (s[k] if s else None) for k in keys}
    out[f"{prefix}/games"] = s["games"] if s else 0
    out[f"{prefix}/truncated"] = s["truncated"] if s else 0
    return out


def iteration_row(cfg, it: int, run, data: dict, timing: dict, train: dict, heldout: dict, gate, anchors: dict,
                  measured_at: int, ratings: tuple, heuristic_name: str | None) -> dict:
    """The metrics row of iteration ``it`` from its named results (see `jaxzero.loop.run`)."""
    nan = float("nan")
    elo, elo_se = ratings
    row = {
        "iteration": it,
        "game": cfg.game.name,
        **data,
        **{k: round(v, 3) for k, v in timing.items()},
        "loss/policy": train["loss/policy"],
        "loss/value": train["loss/value"],
        "grad_norm": train["grad_norm"],
        "policy_accuracy": float(heldout.get("policy_accuracy", nan)),
        "heldout/loss_policy": float(heldout.get("loss/policy", nan)),
        # over the held-out positions whose game ended in this window (none: NaN, not 0)
        "heldout/loss_value": float(heldout.get("loss/value", nan)) if heldout.get("value_targets", 1) > 0 else nan,
        **_summary("arena", gate.arena),
        "promoted": bool(gate.promoted),
        "gate/rule": cfg.arena.gate,
        "gate/threshold": cfg.arena.promotion_threshold,
        "gate/decision": gate.decision,
        "rollback": gate.rollback_reason is not None,
        "rollback/reason": gate.rollback_reason,
        "rollback/restored_from": run.last_good_iteration if gate.rollback_reason is not None else None,
        "best_from": run.best_name,
        **_summary("vs_random", anchors["vs_random"]),
        "vs_random_raw_policy/score": anchors["vs_random_raw"]["score"],
        "vs_random/measured_at": measured_at,  # iteration whose matches gave the anchor scores
        "elo": elo.get(run.best_name),
        "elo/se": elo_se.get(run.best_name),
        "elo/anchor": ANCHOR,
        "buffer_size": int(run.buffer.size),
        # policy-target mass the compact buffer dropped so far (rows with more than K non-zero entries; 0 when
        # K = max_legal_actions bounds the legal moves)
        "buffer/policy_dropped": float(run.buffer.policy_dropped),
        "train_step": int(run.ts.step),
    }
    row["data/duplicate_warning"] = row["data/duplicate_rate"] > DUPLICATE_WARNING
    if "vs_heuristic" in anchors:
        row.update(_summary("vs_heuristic", anchors["vs_heuristic"]))
        row.update({"vs_heuristic/player": heuristic_name, "elo/heuristic": elo.get(heuristic_name),
                    # games the best finished first alone (1 / P is fair): the yardstick with 3-4 players
                    "vs_heuristic/win_share": (anchors["vs_heuristic"] or {}).get("win_share")})
    if "vs_heuristic_raw" in anchors:
        row.update(_summary("vs_heuristic_raw_policy", anchors["vs_heuristic_raw"]))
    if "vs_bootstrap" in anchors:
        row.update(_summary("vs_bootstrap", anchors["vs_bootstrap"]))
        row["elo/bootstrap"] = elo.get("bootstrap")
    if "heuristic_vs_random" in anchors:
        row["heuristic_vs_random/score"] = anchors["heuristic_vs_random"]["score"]
    for name, score in anchors.get("vs_bests", {}).items():
        row[f"vs_best/{name}/score"] = score
        row[f"elo/{name}"] = elo.get(name)
    return row


def log_line(row: dict) -> str:
    """The one line printed per iteration."""
    a = (f"arena {row['arena/score']:.2f} [{row['arena/ci_low']:.2f},{row['arena/ci_high']:.2f}]"
         if row["arena/score"] is not None else "arena skipped")
    dup = row["data/duplicate_rate"]
    dup_txt = f" dup {dup:.0%}" + (f" (WARNING: duplicates > {DUPLICATE_WARNING:.0%})" if dup > DUPLICATE_WARNING else "")
    decision = row["gate/decision"]
    if row["rollback"]:
        decision = f"ROLLBACK to the best of iteration {row['rollback/restored_from']}: {row['rollback/reason']}"
    vh = f" heuristic {row['vs_heuristic/score']:.2f}" if "vs_heuristic/score" in row else ""
    if "vs_heuristic_raw_policy/score" in row:
        vh += f" (raw {row['vs_heuristic_raw_policy/score']:.2f})"
    if "vs_bootstrap/score" in row:
        vh += f" bootstrap {row['vs_bootstrap/score']:.2f}"
    elo = f" | elo {row['elo']:.0f}" if row["elo"] is not None else ""
    return (
        f"it {row['iteration']:3d} | games {row['games']:4d} (trunc {row['truncated']}, heur "
        f"{row['data/heuristic_share']:.2f}) pos {row['positions']:6d}{dup_txt} | sp {row['selfplay_seconds']:6.1f}s "
        f"train {row['train_seconds']:5.1f}s | loss p {row['loss/policy']:.3f} v {row['loss/value']:.3f} | acc "
        f"{row['policy_accuracy']:.2f} | {a} {decision} | vs random {row['vs_random/score']:.2f} (raw policy "
        f"{row['vs_random_raw_policy/score']:.2f}){vh}{elo}"
    )


class MetricsLog:
    """``metrics.jsonl`` (one row per saved iteration), TensorBoard events, ``elo.png`` and ``plots.png``
    in a workdir."""

    def __init__(self, workdir: Path, cfg):
        self.workdir, self.cfg = Path(workdir), cfg
        self.path = self.workdir / "metrics.jsonl"
        self._writer = None

    def trim(self, last_iteration: int) -> None:
        """Keeps metrics.jsonl consistent with the checkpoints: one line per saved iteration, in order."""
        if not self.path.exists():
            return
        rows = {}
        for line in self.path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill
            if isinstance(row, dict) and isinstance(row.get("iteration"), int) and row["iteration"] <= last_iteration:
                rows[row["iteration"]] = row
        tmp = self.path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(rows[k]) + "\n" for k in sorted(rows)))
        os.replace(tmp, self.path)

    def recover(self, row: dict) -> bool:
        """Appends a checkpoint's own ``row`` when metrics.jsonl lacks it (a kill between the checkpoint's
        commit and the metrics line); returns whether it did. Call after `trim` to the same iteration."""
        iteration = row.get("iteration") if row else None
        if not isinstance(iteration, int):
            return False
        lines = self.path.read_text().splitlines() if self.path.exists() else []
        if any(json.loads(line).get("iteration") == iteration for line in lines):
            return False
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")
        return True

    def write(self, row: dict, table) -> None:
        """Appends ``row`` (after its checkpoint is committed), saves the Elo table, redraws elo.png and
        plots.png and writes the numeric values to TensorBoard."""
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")
        if self.cfg.elo.enabled:
            table.save()
            if self.cfg.elo.plot:
                plot_elo({self.workdir.name: read_metrics(self.workdir)}, self.workdir / "elo.png",
                         title=f"{self.cfg.game.name}: Elo of the best (uniform random = 0)")
        if self.cfg.loop.plots:
            from jaxzero.plots import plot_run

            plot_run(self.workdir)
        if self._writer is None:
            from tensorboardX import SummaryWriter

            self._writer = SummaryWriter(str(self.workdir / "tb"))
        for k, v in row.items():
            # a NaN (e.g. held-out value loss when no held-out game finished) is a gap, not a point:
            # tensorboardX would print a warning line into the run's log for each
            if k != "iteration" and isinstance(v, (int, float, bool)) and math.isfinite(float(v)):
                self._writer.add_scalar(k, float(v), row["iteration"])
        self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


class NoMetricsLog:
    """`MetricsLog`'s interface writing nothing: the metrics of processes other than 0 in a
    multi-process run (process 0 writes the run's files)."""

    def trim(self, last_iteration: int) -> None:
        pass

    def recover(self, row: dict) -> bool:
        return False

    def write(self, row: dict, table) -> None:
        pass

    def close(self) -> None:
        pass
