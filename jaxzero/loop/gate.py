"""The promotion gate: the candidate plays the best; it replaces the best only when it wins clearly.

``arena.gate = "lcb"``: score >= ``promotion_threshold`` and the 95% Wilson lower bound > 0.5;
``"threshold"``: the score alone; ``"always"``: continuous training (AlphaZero): every candidate
becomes the best and the match only reports. A promotion whose score against the heuristic drops below the
previous best's by more than ``rollback.heuristic_margin`` is rolled back instead.
"""

from __future__ import annotations

import dataclasses


def promotion_decision(arena: dict, threshold: float, gate: str = "lcb") -> tuple[bool, str]:
    """(promote, reason) from an arena summary: score >= threshold and, for ``gate="lcb"``, the 95%
    Wilson lower bound above 0.5 (the candidate is better than the best with confidence);
    ``gate="always"`` promotes whatever the score."""
    if gate == "always":
        return True, f"promoted (gate always; score {arena['score']:.3f})"
    if arena["score"] < threshold:
        return False, f"kept: score {arena['score']:.3f} < threshold {threshold:.2f}"
    if gate == "lcb" and not arena["ci_low"] > 0.5:
        return False, f"kept: ci_low {arena['ci_low']:.3f} <= 0.5 over {arena['games']} games"
    return True, "promoted"


def heuristic_drop(candidate_score: float, best_score: float | None, margin: float) -> bool:
    """True when a promoted candidate scores below the previous best against the heuristic by more
    than ``margin`` (a negative margin, or no previous score, never triggers)."""
    return margin >= 0 and best_score is not None and candidate_score < best_score - margin


@dataclasses.dataclass(frozen=True)
class GateResult:
    """What the gate decided for one candidate."""

    arena: dict | None  # candidate vs best summary; None when the gate did not play
    promoted: bool
    decision: str  # one line for people: "promoted", "kept: ...", "rolled back: ..."
    rollback_reason: str | None
    candidate_vs_heuristic: dict | None  # the promoted candidate's heuristic match (becomes the best's)


def rolled_back(reason: str, arena: dict | None = None) -> GateResult:
    """The result of a candidate that is rolled back for ``reason``."""
    return GateResult(arena, False, f"rolled back: {reason}", reason, None)


def run_gate(parts, cfg, candidate, best, best_vs_heuristic: float | None, k_arena, k_heur) -> GateResult:
    """Plays candidate vs best (seats rotated) and, for a promotion with a heuristic anchor, the
    candidate vs the heuristic (the rollback check)."""
    arena = parts.arena.match(candidate, best, k_arena, cfg.arena.num_games)
    promoted, decision = promotion_decision(arena, cfg.arena.promotion_threshold, cfg.arena.gate)
    vs_heuristic = None
    if promoted and parts.vs_heuristic is not None:
        vs_heuristic = parts.vs_heuristic(candidate, key=k_heur, num_games=cfg.elo.heuristic_games)
        margin = cfg.rollback.heuristic_margin
        if heuristic_drop(vs_heuristic["score"], best_vs_heuristic, margin):
            return rolled_back(f"score vs heuristic {vs_heuristic['score']:.3f} < previous best's "
                               f"{best_vs_heuristic:.3f} - margin {margin}", arena)
    return GateResult(arena, promoted, decision, None, vs_heuristic)
