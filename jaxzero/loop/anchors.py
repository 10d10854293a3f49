"""The best against fixed anchors: uniform random (Elo 0), the heuristic (searched and raw policy),
the bootstrap net and recent bests.

Measured when a net becomes the best: re-playing an unchanged best only re-samples the noise
(``arena.remeasure_best`` re-plays every iteration). The carried results are checkpointed, so a
resume re-plays them only when its checkpoint predates that. Every result goes into the Elo table.
"""

from __future__ import annotations

import jax

from jaxzero.elo import ANCHOR
from jaxzero.match import play_match
from jaxzero.players import random_player


class Anchors:
    """The best's anchor matches, played once per best (see the module docstring)."""

    def __init__(self, parts, cfg, table):
        self.parts, self.cfg, self.table = parts, cfg, table
        self._measured = None  # (best name, iteration measured at, results)

    def measure(self, it: int, run, keys, candidate_vs_heuristic=None) -> tuple[dict, int]:
        """``(results, iteration they were measured at)`` for ``run``'s best; ``keys`` = (random,
        heuristic, recent bests); ``candidate_vs_heuristic``: the gate's heuristic match of a new best."""
        if self._measured is None or self._measured[0] != run.best_name or self.cfg.arena.remeasure_best:
            results = self._play(it, run, *keys, candidate_vs_heuristic)
            self._measured = (run.best_name, it, results)
        return self._measured[2], self._measured[1]

    def saved(self) -> dict | None:
        """The carried results as JSON (saved with a checkpoint; `restore` takes them back), or None."""
        if self._measured is None:
            return None
        name, at, results = self._measured
        return {"best": name, "measured_at": at, "results": results}

    def restore(self, saved: dict | None) -> None:
        """Carries results `saved` returned (a resumed run re-plays nothing an uninterrupted one would not)."""
        self._measured = None if saved is None else (saved["best"], saved["measured_at"], saved["results"])

    def _play(self, it, run, k_rand, k_heur, k_bests, cand_vs_h) -> dict:
        cfg, parts, table, best, name = self.cfg, self.parts, self.table, run.best, run.best_name
        n = cfg.arena.vs_random_games
        vr = parts.eval_arena.vs_random(best, k_rand, n)
        out = {"vs_random": vr, "vs_random_raw": parts.eval_arena.vs_random_raw_policy(best, k_rand, n)}
        table.add(it, name, ANCHOR, vr["score"] * vr["games"], vr["games"])
        if parts.vs_heuristic is not None:
            vh = cand_vs_h if cand_vs_h is not None else parts.vs_heuristic(best, key=k_heur, num_games=cfg.elo.heuristic_games)
            out["vs_heuristic"] = vh
            table.add(it, name, parts.heuristic_name, vh["score"] * vh["games"], vh["games"])
            # the raw policy (argmax, no search) with the same openings: has the net itself outgrown it?
            out["vs_heuristic_raw"] = parts.raw_vs_heuristic(best, key=k_heur, num_games=cfg.elo.heuristic_games)
            if cfg.elo.anchor_games > 0 and not table.has_pair(parts.heuristic_name, ANCHOR):
                # once per run: heuristic vs random ties the two anchors together
                hr = play_match(parts.game, parts.heuristic, random_player, jax.random.fold_in(k_heur, 1),
                                cfg.elo.anchor_games, cfg.arena.max_moves, mesh=parts.mesh)
                table.add(it, parts.heuristic_name, ANCHOR, hr["score"] * hr["games"], hr["games"])
                out["heuristic_vs_random"] = hr
        if run.bootstrap is not None and cfg.elo.enabled and cfg.elo.bootstrap_games > 0 and name != "bootstrap":
            # the fixed anchor self-play has to beat: the heuristic-bootstrapped first best, at equal search
            r = parts.eval_arena.match(best, run.bootstrap, jax.random.fold_in(k_bests, 1000), cfg.elo.bootstrap_games)
            table.add(it, name, "bootstrap", r["score"] * r["games"], r["games"])
            out["vs_bootstrap"] = r
        if cfg.elo.enabled and cfg.elo.num_games > 0:
            out["vs_bests"] = {}
            for j, (other, params) in enumerate(run.recent[-cfg.elo.recent_bests:] if cfg.elo.recent_bests else []):
                r = parts.eval_arena.match(best, params, jax.random.fold_in(k_bests, j), cfg.elo.num_games)
                table.add(it, name, other, r["score"] * r["games"], r["games"])
                out["vs_bests"][other] = r["score"]
        return out


def recent_bests_from_checkpoints(ckpt, abstract, current_name: str) -> list:
    """[(name, params)] of earlier distinct bests still held by the kept checkpoints (oldest first)."""
    from jaxzero.checkpoint import CorruptCheckpointError

    out = []
    for i in ckpt.all_iterations()[:-1]:
        try:
            state, _, metrics = ckpt.restore(i, abstract)
        except CorruptCheckpointError:
            continue  # an unreadable older best only leaves the ladder

        name = metrics.get("best_from")
        if name and name != current_name and all(n != name for n, _ in out):
            out.append((name, state["best"]))
    return out
