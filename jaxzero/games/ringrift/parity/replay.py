"""The parity harness: replays RingRift reference trace files through the engine and reports
every step where the engine and the trace differ (scripts/parity.py).

`replay_file` replays all games of one file in lockstep (one batched legal mask and one
batched apply per round; the comparison against the trace runs on the host) and returns a
`FileReport` of `Mismatch`es. `DIVERGENT` lists the steps we deliberately play differently.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Dict, List, Optional

import jax
import jax.numpy as jnp
import numpy as np

from jaxzero.games import ringrift
from jaxzero.games.ringrift.parity import notation
from jaxzero.games.ringrift.parity.traces import game_config, load_games, thresholds
from jaxzero.games.ringrift.state import PHASE_NAMES, REASON_NAMES

# Steps we deliberately play differently from the reference even in reference_compat mode:
# (file stem, seed, step index) -> "rule id: reason". Each one is listed with its evidence
# in docs/rules-decisions.md. A difference at such a step counts as divergent, and the
# replay re-synchronises to the recorded digest there.
DIVERGENT: Dict[tuple, str] = {
    # (none: F1's single forced elimination, hex8_4p seed 48 step 240, follows the stacks'
    # creation order (State.born) since issue 20 and replays exactly)
}

# digest-carried State fields (replaced on re-synchronisation; the rest is kept)
_DIGEST_FIELDS = (
    "rings height marker collapsed hand elim terr cur phase must_move attack acted turn_recovery "
    "pend_line pend_terr terr_region swapped lps_round lps_first lps_seen lps_actor lps_excl "
    "lps_count lps_cons winner current_player terminated"
).split()


@dataclasses.dataclass
class Mismatch:
    """One step where the engine and the trace differ."""

    file: str
    seed: int
    step: int  # index into steps; -1 = initial digest; len(steps) = result
    phase: str
    move: str
    kind: str  # "legal", "digest", "move", "result", "initial"
    fields: List[str] = dataclasses.field(default_factory=list)
    missing: List[str] = dataclasses.field(default_factory=list)  # in the trace, not ours
    extra: List[str] = dataclasses.field(default_factory=list)  # ours, not in the trace
    mine: str = ""
    ref: str = ""
    ours: List[str] = dataclasses.field(default_factory=list)  # our whole legal set (legal kind)
    cls: str = ""  # canonical-mode class (A1, A2, V1/V2, F1, ?) or divergent rule id
    divergent: bool = False

    @property
    def lps_only(self) -> bool:
        return self.kind == "digest" and self.fields == ["L"]

    def describe(self) -> str:
        s = f"{self.file} seed {self.seed} step {self.step} [{self.phase}] {self.kind}"
        if self.move:
            s += f" move {self.move!r}"
        if self.cls:
            s += f" class {self.cls}"
        if self.fields:
            a, b = notation.split_digest(self.mine), notation.split_digest(self.ref)
            s += " fields " + ", ".join(f"{k}: ours {a[k]!r} ref {b[k]!r}" for k in self.fields)
        if self.missing:
            s += f" missing {self.missing[:8]}{'...' if len(self.missing) > 8 else ''}"
        if self.extra:
            s += f" extra {self.extra[:8]}{'...' if len(self.extra) > 8 else ''}"
        if self.kind in ("move", "result") and self.ref:
            s += f" ({self.ref})"
        return s


@dataclasses.dataclass
class FileReport:
    file: str
    games: int = 0
    matched: int = 0
    steps: int = 0
    mismatched_steps: int = 0
    divergent_steps: int = 0
    lps_only_steps: int = 0
    ranking_diffs: int = 0  # games whose final ranking differs (reported, not counted)
    mismatches: List[Mismatch] = dataclasses.field(default_factory=list)
    classes: Dict[str, int] = dataclasses.field(default_factory=dict)
    seconds: float = 0.0

    def line(self) -> str:
        s = (
            f"{self.file}: games={self.games} matched={self.matched} steps={self.steps} "
            f"mismatched_steps={self.mismatched_steps} divergent_steps={self.divergent_steps} "
            f"(L-only {self.lps_only_steps}, ranking differs in {self.ranking_diffs} games) {self.seconds:.1f}s"
        )
        if self.classes:
            s += " classes " + " ".join(f"{k}={v}" for k, v in sorted(self.classes.items()))
        return s


def classify_canonical(mm: Mismatch, ref_step: Optional[dict]) -> str:
    """The reference-departure class of a canonical-mode difference (RULES.md preface):
    A1 dead placement counts, A2 landing-on-a-stack placement / skip_placement, V1/V2
    game-over timing, F1 single forced elimination after a voluntary skip; '?' otherwise."""
    if mm.kind == "legal":
        miss, extra = set(mm.missing), set(mm.extra)
        # when we have nothing interactive left our legal set is the bookkeeping move
        extra -= {"no_placement_action"}
        if mm.phase == "ring_placement" and not extra and miss:
            if all(m.startswith("place ") or m == "skip_placement" for m in miss):
                if "skip_placement" in miss:
                    return "A2"
                # A1: only counts missing at cells where we offer another count; A2: a
                # whole cell missing (dead placement the reference accepts).
                mine_cells = {m.split()[1] for m in mm.ours if m.startswith("place ")}
                return "A1" if all(m.split()[1] in mine_cells for m in miss) else "A2"
        if mm.phase == "forced_elimination" and not miss and extra and ref_step and ref_step.get("bookkeeping"):
            return "F1"
        return "?"
    if mm.kind in ("digest", "result"):
        a = notation.split_digest(mm.mine) if mm.mine else {}
        b = notation.split_digest(mm.ref) if mm.ref else {}
        if a and b and (a["ph"] == "game_over") != (b["ph"] == "game_over"):
            return "V1/V2"
        if mm.kind == "result":
            return "V1/V2"
        return "?"
    if mm.kind == "move":
        return "A1/A2"
    return "?"


def _merge_resync(cfg, host: dict, digest_str: str, thr: dict) -> dict:
    """Our host state with every digest-carried field replaced by the recorded digest."""
    ref = notation.host_state_from_digest(cfg.board, cfg, digest_str, **thr)
    out = dict(host)
    for k in _DIGEST_FIELDS:
        out[k] = ref[k]
    for k in ("pend_extract", "pend_rec_line"):
        if k in out:
            out[k] = np.zeros_like(out[k])
    if "rec_strike" in out:
        out["rec_strike"] = np.full_like(out["rec_strike"], -1)
    return out


@dataclasses.dataclass
class _Cursor:
    """Where the replay of one trace game stands."""

    game: dict
    thresholds: dict
    alive: bool = True
    ptr: int = 0  # index of the step being replayed
    in_step: bool = False  # the step's move is being played (its first id is applied)
    followups: list = dataclasses.field(default_factory=list)  # sub-decisions still to play
    bad: bool = False  # a counted (not divergent) mismatch happened in this game
    step_bad: bool = False  # the current step is already counted
    resynced_last: bool = False  # the last step ended by re-loading the recorded digest
    pre_state: Optional[dict] = None  # host state before the current step
    step_ids: list = dataclasses.field(default_factory=list)  # ids played for the current step

    @property
    def seed(self) -> int:
        return self.game["seed"]

    @property
    def steps(self) -> list:
        return self.game["steps"]


_AGAIN = object()  # the game's state changed on the host only: look at it again this round


class _LockstepReplay:
    """The games of one trace file replayed in lockstep: one batched legal mask and one batched
    apply per round, the per-game bookkeeping (`_Cursor`) on the host."""

    def __init__(self, path: Path, games: List[dict], canonical: bool, resync: bool, verbose: bool, log):
        self.stem = path.name.split(".")[0]
        self.canonical, self.resync, self.verbose, self.log = canonical, resync or canonical, verbose, log
        self.rep = FileReport(file=path.name, games=len(games))
        self.cfg = game_config(games[0], reference_compat=not canonical)
        for g in games:
            if game_config(g, reference_compat=not canonical) != self.cfg:
                raise ValueError(f"{path.name}: games with different configurations in one file")
        self.eng = notation.engine_fns(self.cfg)
        self.cursors = [_Cursor(g, thresholds(g)) for g in games]

    # ---- device side ----

    def initial_states(self):
        """The engine's initial state for every game, with each game's thresholds."""
        s0 = ringrift.init(self.cfg, jax.random.PRNGKey(0))
        states = jax.tree.map(lambda x: jnp.broadcast_to(x, (len(self.cursors),) + x.shape), s0)
        return states.replace(
            victory_threshold=jnp.asarray([c.thresholds["victory_threshold"] for c in self.cursors], jnp.int32),
            territory_minimum=jnp.asarray([c.thresholds["territory_minimum"] for c in self.cursors], jnp.int32),
        )

    @staticmethod
    def push(states, updates: Dict[int, dict]):
        """`states` with the games in `updates` replaced by those host states."""
        idx = np.asarray(sorted(updates))
        upd = {}
        for k in updates[int(idx[0])]:
            if k not in states:
                continue
            x = states[k]
            vals = np.stack([np.asarray(updates[int(g)][k]) for g in idx]).astype(np.dtype(x.dtype))
            upd[k] = x.at[idx].set(vals)
        return states.replace(**upd)

    def check_initial(self, states):
        """Compares every game's initial digest; re-synchronises or stops the games that differ."""
        hs_all = {k: np.asarray(v) for k, v in jax.device_get(states).items()}
        updates = {}
        for g, c in enumerate(self.cursors):
            hs = {k: v[g] for k, v in hs_all.items()}
            mine = notation.digest(self.cfg, hs)
            if mine != c.game["initial"]:
                self.record(c, Mismatch(self.stem, c.seed, -1, "ring_placement", "", "initial",
                                        fields=notation.diff_digests(mine, c.game["initial"]), mine=mine,
                                        ref=c.game["initial"]))
                c.step_bad = False
                if self.resync:
                    updates[g] = _merge_resync(self.cfg, hs, c.game["initial"], c.thresholds)
                else:
                    c.alive = False
            if not c.steps:
                c.alive = False
        return self.push(states, updates) if updates else states

    def round(self, states):
        """One lockstep round: every live game plays its next id or re-synchronises on the host."""
        masks = self.eng.batch_legal_mask(states)
        host, hmask = jax.device_get((states, masks))
        hs_all = {k: np.asarray(v) for k, v in host.items()}
        hmask = np.asarray(hmask)
        actions = np.zeros(len(self.cursors), np.int32)
        on = np.zeros(len(self.cursors), bool)
        updates = {}
        for g, c in enumerate(self.cursors):
            if not c.alive:
                continue
            a, new = self.advance(c, {k: v[g] for k, v in hs_all.items()}, hmask[g])
            if new is not None:
                updates[g] = new
            elif a is not None:
                actions[g], on[g] = a, True
        if updates:
            states = self.push(states, updates)
        if on.any():
            states = self.eng.batch_apply(states, jnp.asarray(actions), jnp.asarray(on))
        return states

    # ---- one game, on the host ----

    def advance(self, c: _Cursor, hs: dict, mask):
        """(action or None, re-synchronised host state or None) for game `c` this round."""
        while True:
            if c.followups:
                out = self.play_followup(c, hs, mask)
            elif c.in_step:
                out = self.close_step(c, hs)
            else:
                return self.decide(c, hs, mask)
            if out is not _AGAIN:
                return out

    def play_followup(self, c: _Cursor, hs: dict, mask):
        """Plays the next sub-decision of the recorded move, if the engine asks for it."""
        i = c.ptr
        fu = c.followups.pop(0)
        a = notation.resolve_followup(self.cfg, hs, fu)
        if a is None:
            return _AGAIN
        if mask[a]:
            c.step_ids.append(a)
            return a, None
        self.record(c, Mismatch(self.stem, c.seed, i, c.steps[i]["phase"], c.steps[i]["move"], "move",
                                ref=f"sub-decision {fu[0]} (action {a}) not legal"))
        c.followups = []
        c.in_step = False
        return self.stop_or_resync(c, hs, i)

    def close_step(self, c: _Cursor, hs: dict):
        """The recorded move is fully played: compares the digests and moves to the next step."""
        i = c.ptr
        c.in_step = False
        mine = notation.digest(self.cfg, hs)
        new = None
        c.resynced_last = False
        if mine != c.steps[i]["digest"]:
            ref = c.steps[i]["digest"]
            mm = Mismatch(self.stem, c.seed, i, c.steps[i]["phase"], c.steps[i]["move"], "digest",
                          fields=notation.diff_digests(mine, ref), mine=mine, ref=ref)
            if self.canonical and mm.fields == ["L"] and self.compat_reproduces(c, ref):
                # LPS real-action availability at turn start uses the placement test,
                # whose compat version counts a ray ending on a stack as a move (A2)
                mm.cls = "A2"
            self.record(c, mm)
            if not self.may_continue(c, i):
                c.alive = False
                return None, None
            new = self.resynced(c, hs, ref)
        if not self.next_step(c, hs if new is None else new):
            return None, new
        if new is not None:
            return None, new  # decide from the re-synchronised state next round
        return _AGAIN

    def decide(self, c: _Cursor, hs: dict, mask):
        """Compares the legal sets, then plays the first id of the recorded move."""
        i = c.ptr
        st = c.steps[i]
        mmap = notation.legal_move_map(self.cfg, hs, mask)
        ref_keys = {notation.compare_key(m) for m in st["legal"]}
        if set(mmap) != ref_keys:
            mm = Mismatch(self.stem, c.seed, i, st["phase"], st["move"], "legal",
                          missing=sorted(ref_keys - set(mmap)), extra=sorted(set(mmap) - ref_keys))
            mm.ours = list(mmap)
            self.record(c, mm)
            if not self.may_continue(c, i):
                c.alive = False
                return None, None
        try:
            first, fus = notation.parse_move_first(self.cfg, hs, st["move"], mmap)
        except ValueError as e:
            if not c.step_bad:
                self.record(c, Mismatch(self.stem, c.seed, i, st["phase"], st["move"], "move", ref=str(e)))
            return self.stop_or_resync(c, hs, i)
        c.followups = list(fus)
        c.in_step = True
        c.pre_state = hs
        c.step_ids = [first]
        return first, None

    def stop_or_resync(self, c: _Cursor, hs: dict, i: int):
        """After a mismatch at step i: stops the game, or re-loads the recorded digest and goes on."""
        if not self.may_continue(c, i):
            c.alive = False
            return None, None
        new = self.resynced(c, hs, c.steps[i]["digest"])
        self.next_step(c, new)
        return None, new

    def resynced(self, c: _Cursor, hs: dict, digest_str: str) -> dict:
        c.resynced_last = True
        return _merge_resync(self.cfg, hs, digest_str, c.thresholds)

    def may_continue(self, c: _Cursor, i: int) -> bool:
        return self.resync or (self.stem, c.seed, i) in DIVERGENT

    def next_step(self, c: _Cursor, hs_after: dict) -> bool:
        """Moves past step c.ptr; returns False when the game is over."""
        self.rep.steps += 1
        c.ptr += 1
        c.step_bad = False
        if c.ptr >= len(c.steps):
            c.alive = False
            self.check_result(c, hs_after)
            return False
        return True

    def compat_reproduces(self, c: _Cursor, ref_digest: str) -> bool:
        """Canonical mode: whether the compat engine, from the same pre-step state and ids,
        gives the recorded digest (then the difference comes from a compat class)."""
        ccfg = dataclasses.replace(self.cfg, reference_compat=True)
        ceng = notation.engine_fns(ccfg)
        st = notation.from_host(ccfg, c.pre_state)
        for a in c.step_ids:
            st = ceng.apply_move(st, jnp.int32(a))
        return notation.digest(ccfg, st) == ref_digest

    def check_result(self, c: _Cursor, hs: dict) -> None:
        """Compares the winner, the reason and the ranking of a finished game with its result."""
        res = c.game["result"]
        w = int(hs["winner"])
        mine_w = None if w < 0 else w + 1
        problems = []
        if mine_w != res.get("winner"):
            problems.append(f"winner ours {mine_w} ref {res.get('winner')}")
        if not c.resynced_last and res.get("final_status") == "completed":
            reason = REASON_NAMES[int(hs["reason"])]
            if reason != res.get("reason"):
                problems.append(f"reason ours {reason} ref {res.get('reason')}")
        if res.get("ranking") and not c.resynced_last:
            want = {int(seat): int(r) for seat, r in res["ranking"]}
            mine_r = {i + 1: int(r) for i, r in enumerate(np.asarray(hs["ranks"]))}
            if want != mine_r:
                self.rep.ranking_diffs += 1
                if self.verbose:
                    self.log(f"  {self.stem} seed {c.seed}: ranking ours {mine_r} ref {want} (not counted)")
        if problems:
            c.step_bad = False
            self.record(c, Mismatch(self.stem, c.seed, len(c.steps), PHASE_NAMES[int(hs["phase"])], "", "result",
                                    ref="; ".join(problems)))

    def record(self, c: _Cursor, mm: Mismatch) -> None:
        """Classifies a mismatch, counts its step once and keeps it in the report."""
        rep = self.rep
        key = (self.stem, c.seed, mm.step)
        if key in DIVERGENT and not self.canonical:
            mm.divergent, mm.cls = True, DIVERGENT[key]
        elif self.canonical:
            st = c.steps[mm.step] if 0 <= mm.step < len(c.steps) else None
            mm.cls = mm.cls or classify_canonical(mm, st)
            rep.classes[mm.cls] = rep.classes.get(mm.cls, 0) + 1
        if not c.step_bad:
            c.step_bad = True
            if mm.divergent:
                rep.divergent_steps += 1
            else:
                rep.mismatched_steps += 1
                if mm.lps_only:
                    rep.lps_only_steps += 1
        if not mm.divergent:
            c.bad = True
        rep.mismatches.append(mm)
        if self.verbose:
            self.log("  " + mm.describe())


def replay_file(
    path,
    canonical: bool = False,
    max_games: int | None = None,
    resync: bool = False,
    verbose: bool = False,
    log=print,
) -> FileReport:
    """Replays every game of a trace file through the engine, all games in lockstep.

    reference_compat mode (default): at every step compares our legal set with the trace's
    (recovery moves on their `compare_key` prefix) and, after applying the recorded move
    (plus the sub-decisions our engine asks for), our digest with the recorded one; at the
    end the winner and reason with the result. A game stops at its first mismatch unless
    `resync` (then our state is re-loaded from the recorded digest). canonical: replays
    with reference_compat=False, always re-syncs, and classifies each difference
    (classify_canonical). The engine's legal_mask / apply_move are jitted once per config
    and vmapped over the games; games that ended are padded.
    """
    t0 = time.time()
    path = Path(path)
    games = load_games(path, max_games)
    if not games:
        return FileReport(file=path.name, games=0)
    replay = _LockstepReplay(path, games, canonical, resync, verbose, log)
    states = replay.check_initial(replay.initial_states())
    while any(c.alive for c in replay.cursors):
        states = replay.round(states)
    rep = replay.rep
    rep.matched = sum(not c.bad and c.ptr >= len(c.steps) for c in replay.cursors)
    rep.seconds = time.time() - t0
    return rep
