"""Reading and validating the RingRift reference trace files (traces/FORMAT.md).

A trace file is gzip-compressed JSON Lines, one game per line. `read_games` yields the
games as dicts after checking the fields the parity harness relies on; malformed input
raises ValueError naming the file, the line and the problem.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Iterator, List

from jaxzero.games.ringrift.boards import BOARD_NAMES
from jaxzero.games.ringrift.notation import split_digest
from jaxzero.games.ringrift.state import RulesConfig

_GAME_KEYS = ("board", "num_players", "seed", "config", "initial", "steps", "result")
_STEP_KEYS = ("player", "phase", "legal", "move", "bookkeeping", "digest")
_CONFIG_KEYS = ("victory_threshold", "territory_victory_minimum", "swap_rule", "max_moves")


def validate_game(game: dict, where: str = "game") -> dict:
    """Checks one decoded game line; returns it unchanged. ValueError naming the problem."""
    if not isinstance(game, dict):
        raise ValueError(f"{where}: not a JSON object")
    for k in _GAME_KEYS:
        if k not in game:
            raise ValueError(f"{where}: missing key {k!r}")
    if game["board"] not in BOARD_NAMES:
        raise ValueError(f"{where}: unknown board {game['board']!r}")
    if game["num_players"] not in (2, 3, 4):
        raise ValueError(f"{where}: num_players {game['num_players']!r} not in 2..4")
    for k in _CONFIG_KEYS:
        if k not in game["config"]:
            raise ValueError(f"{where}: config lacks {k!r}")
    split_digest(game["initial"])
    if not isinstance(game["steps"], list):
        raise ValueError(f"{where}: steps is not a list")
    for i, s in enumerate(game["steps"]):
        for k in _STEP_KEYS:
            if k not in s:
                raise ValueError(f"{where} step {i}: missing key {k!r}")
        if s["move"] not in s["legal"]:
            raise ValueError(f"{where} step {i}: move {s['move']!r} is not in its legal list")
        if s["bookkeeping"] and len(s["legal"]) != 1:
            raise ValueError(f"{where} step {i}: bookkeeping step with {len(s['legal'])} legal moves")
    return game


def read_games(path, max_games: int | None = None) -> Iterator[dict]:
    """Yields the validated games of one `.jsonl.gz` (or plain `.jsonl`) trace file."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        n = 0
        for lineno, line in enumerate(f, 1):
            if max_games is not None and n >= max_games:
                return
            if not line.strip():
                continue
            try:
                game = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{lineno}: invalid JSON ({e})") from None
            yield validate_game(game, f"{path.name}:{lineno}")
            n += 1


def load_games(path, max_games: int | None = None) -> List[dict]:
    """All (or the first max_games) games of a trace file as a list."""
    return list(read_games(path, max_games))


def game_config(game: dict, reference_compat: bool = True, auto_single: bool = False) -> RulesConfig:
    """The RulesConfig that replays a trace game (the host's move budget included)."""
    cfg = game["config"]
    return RulesConfig(
        board=game["board"],
        num_players=game["num_players"],
        swap_rule=bool(cfg["swap_rule"]),
        reference_compat=reference_compat,
        auto_single=auto_single,
        lps_rounds=int(cfg.get("lps_rounds_required", 3)),
        max_moves=int(cfg["max_moves"]),
    )


def thresholds(game: dict) -> dict:
    """The per-game thresholds of a trace game as State field values."""
    cfg = game["config"]
    return {
        "victory_threshold": int(cfg["victory_threshold"]),
        "territory_minimum": int(cfg["territory_victory_minimum"]),
    }


# ----------------------------------------------------------------------------------------
# batched replay (parity harness)
# ----------------------------------------------------------------------------------------

import dataclasses  # noqa: E402
from typing import Dict, Optional  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jaxzero.games.ringrift import notation as N  # noqa: E402
from jaxzero.games.ringrift.state import PHASE_NAMES, REASON_NAMES  # noqa: E402

# Steps we deliberately play differently from the reference even in reference_compat mode:
# (file stem, seed, step index) -> "rule id: reason". Each one is listed with its evidence
# in docs/rules-decisions.md. A difference at such a step counts as divergent, and the
# replay re-synchronises to the recorded digest there.
DIVERGENT: Dict[tuple, str] = {
    # F1 (R206) in compat mode: after a permissive skip_placement the reference synthesizes
    # ONE forced_elim on the first eligible stack of its stack dictionary, whose order is
    # the insertion history (0,1,-1 created at step 116 before -1,1,0 was re-created at
    # step 181); a board position does not determine it. We offer the lowest cell.
    ("hex8_4p", 48, 240): "F1-order",
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
            a, b = N.split_digest(self.mine), N.split_digest(self.ref)
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
        a = N.split_digest(mm.mine) if mm.mine else {}
        b = N.split_digest(mm.ref) if mm.ref else {}
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
    ref = N.host_state_from_digest(cfg.board, cfg, digest_str, **thr)
    out = dict(host)
    for k in _DIGEST_FIELDS:
        out[k] = ref[k]
    for k in ("pend_extract", "pend_rec_line"):
        if k in out:
            out[k] = np.zeros_like(out[k])
    return out


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
    import time

    t0 = time.time()
    path = Path(path)
    stem = path.name.split(".")[0]
    games = load_games(path, max_games)
    rep = FileReport(file=path.name, games=len(games))
    if not games:
        return rep
    resync = resync or canonical
    cfg = game_config(games[0], reference_compat=not canonical)
    for g in games:
        if game_config(g, reference_compat=not canonical) != cfg:
            raise ValueError(f"{path.name}: games with different configurations in one file")
    eng = N.engine_fns(cfg)
    from jaxzero.games import ringrift as rr

    G = len(games)
    thr = [thresholds(g) for g in games]
    s0 = rr.init(cfg, jax.random.PRNGKey(0))
    states = jax.tree.map(lambda x: jnp.broadcast_to(x, (G,) + x.shape), s0)
    states = states.replace(
        victory_threshold=jnp.asarray([t["victory_threshold"] for t in thr], jnp.int32),
        territory_minimum=jnp.asarray([t["territory_minimum"] for t in thr], jnp.int32),
    )

    alive = [True] * G
    ptr = [0] * G
    in_step = [False] * G
    followups: List[list] = [[] for _ in range(G)]
    bad_game = [False] * G
    step_bad = [False] * G  # current step already counted
    resynced_last = [False] * G
    pre_state: List[Optional[dict]] = [None] * G  # host state before the current step
    step_ids: List[list] = [[] for _ in range(G)]  # ids played for the current step

    def compat_reproduces(g, ref_digest):
        """Canonical mode: whether the compat engine, from the same pre-step state and ids,
        gives the recorded digest (then the difference comes from a compat class)."""
        ccfg = dataclasses.replace(cfg, reference_compat=True)
        ceng = N.engine_fns(ccfg)
        st = N.from_host(ccfg, pre_state[g])
        for a in step_ids[g]:
            st = ceng.apply_move(st, jnp.int32(a))
        return N.digest(ccfg, st) == ref_digest

    def record(g, mm: Mismatch, count=True):
        key = (stem, games[g]["seed"], mm.step)
        if key in DIVERGENT and not canonical:
            mm.divergent, mm.cls = True, DIVERGENT[key]
        elif canonical:
            st = games[g]["steps"][mm.step] if 0 <= mm.step < len(games[g]["steps"]) else None
            mm.cls = mm.cls or classify_canonical(mm, st)
            rep.classes[mm.cls] = rep.classes.get(mm.cls, 0) + 1
        if count and not step_bad[g]:
            step_bad[g] = True
            if mm.divergent:
                rep.divergent_steps += 1
            else:
                rep.mismatched_steps += 1
                if mm.lps_only:
                    rep.lps_only_steps += 1
        if not mm.divergent:
            bad_game[g] = True
        rep.mismatches.append(mm)
        if verbose:
            log("  " + mm.describe())

    def may_continue(g, i):
        return resync or (stem, games[g]["seed"], i) in DIVERGENT

    def check_result(g, hs):
        res = games[g]["result"]
        w = int(hs["winner"])
        mine_w = None if w < 0 else w + 1
        problems = []
        if mine_w != res.get("winner"):
            problems.append(f"winner ours {mine_w} ref {res.get('winner')}")
        if not resynced_last[g] and res.get("final_status") == "completed":
            reason = REASON_NAMES[int(hs["reason"])]
            if reason != res.get("reason"):
                problems.append(f"reason ours {reason} ref {res.get('reason')}")
        if res.get("ranking") and not resynced_last[g]:
            want = {int(seat): int(r) for seat, r in res["ranking"]}
            mine_r = {i + 1: int(r) for i, r in enumerate(np.asarray(hs["ranks"]))}
            if want != mine_r:
                rep.ranking_diffs += 1
                if verbose:
                    log(f"  {stem} seed {games[g]['seed']}: ranking ours {mine_r} ref {want} (not counted)")
        if problems:
            n = len(games[g]["steps"])
            step_bad[g] = False
            record(g, Mismatch(stem, games[g]["seed"], n, PHASE_NAMES[int(hs["phase"])], "", "result",
                               ref="; ".join(problems)))

    def next_step(g, hs_after):
        """Moves past step ptr[g]; returns False when the game is over."""
        rep.steps += 1
        ptr[g] += 1
        step_bad[g] = False
        if ptr[g] >= len(games[g]["steps"]):
            alive[g] = False
            check_result(g, hs_after)
            return False
        return True

    def process(g, hs, mask):
        """Returns (action or None, resync host state or None) for game g this round."""
        steps = games[g]["steps"]
        while True:
            i = ptr[g]
            if followups[g]:
                fu = followups[g].pop(0)
                a = N.resolve_followup(cfg, hs, fu)
                if a is None:
                    continue
                if mask[a]:
                    step_ids[g].append(a)
                    return a, None
                record(g, Mismatch(stem, games[g]["seed"], i, steps[i]["phase"], steps[i]["move"], "move",
                                   ref=f"sub-decision {fu[0]} (action {a}) not legal"))
                followups[g] = []
                in_step[g] = False
                if not may_continue(g, i):
                    alive[g] = False
                    return None, None
                new = _merge_resync(cfg, hs, steps[i]["digest"], thr[g])
                resynced_last[g] = True
                next_step(g, new)
                return None, new
            if in_step[g]:
                in_step[g] = False
                mine = N.digest(cfg, hs)
                new = None
                resynced_last[g] = False
                if mine != steps[i]["digest"]:
                    mm = Mismatch(stem, games[g]["seed"], i, steps[i]["phase"], steps[i]["move"], "digest",
                                  fields=N.diff_digests(mine, steps[i]["digest"]), mine=mine, ref=steps[i]["digest"])
                    if canonical and mm.fields == ["L"] and compat_reproduces(g, steps[i]["digest"]):
                        # LPS real-action availability at turn start uses the placement test,
                        # whose compat version counts a ray ending on a stack as a move (A2)
                        mm.cls = "A2"
                    record(g, mm)
                    if not may_continue(g, i):
                        alive[g] = False
                        return None, None
                    new = _merge_resync(cfg, hs, steps[i]["digest"], thr[g])
                    resynced_last[g] = True
                if not next_step(g, hs if new is None else new):
                    return None, new
                if new is not None:
                    return None, new  # decide from the re-synchronised state next round
                continue
            # decide: compare the legal sets, then play the recorded move
            st = steps[i]
            mmap = N.legal_move_map(cfg, hs, mask)
            ref_keys = {N.compare_key(m) for m in st["legal"]}
            if set(mmap) != ref_keys:
                mm = Mismatch(stem, games[g]["seed"], i, st["phase"], st["move"], "legal",
                              missing=sorted(ref_keys - set(mmap)), extra=sorted(set(mmap) - ref_keys))
                mm.ours = list(mmap)
                record(g, mm)
                if not may_continue(g, i):
                    alive[g] = False
                    return None, None
            try:
                first, fus = N.parse_move_first(cfg, hs, st["move"], mmap)
            except ValueError as e:
                if not step_bad[g]:
                    record(g, Mismatch(stem, games[g]["seed"], i, st["phase"], st["move"], "move", ref=str(e)))
                if not may_continue(g, i):
                    alive[g] = False
                    return None, None
                new = _merge_resync(cfg, hs, st["digest"], thr[g])
                resynced_last[g] = True
                next_step(g, new)
                return None, new
            followups[g] = list(fus)
            in_step[g] = True
            pre_state[g] = hs
            step_ids[g] = [first]
            return first, None

    def push(states, updates):
        idx = np.asarray(sorted(updates))
        upd = {}
        for k in updates[int(idx[0])]:
            if k not in states:
                continue
            x = states[k]
            vals = np.stack([np.asarray(updates[int(g)][k]) for g in idx]).astype(np.dtype(x.dtype))
            upd[k] = x.at[idx].set(vals)
        return states.replace(**upd)

    # initial digests
    host = jax.device_get(states)
    hs_all = {k: np.asarray(v) for k, v in host.items()}
    updates = {}
    for g in range(G):
        hs = {k: v[g] for k, v in hs_all.items()}
        mine = N.digest(cfg, hs)
        if mine != games[g]["initial"]:
            record(g, Mismatch(stem, games[g]["seed"], -1, "ring_placement", "", "initial",
                               fields=N.diff_digests(mine, games[g]["initial"]), mine=mine, ref=games[g]["initial"]))
            step_bad[g] = False
            if resync:
                updates[g] = _merge_resync(cfg, hs, games[g]["initial"], thr[g])
            else:
                alive[g] = False
        if not games[g]["steps"]:
            alive[g] = False
    if updates:
        states = push(states, updates)

    while any(alive):
        masks = eng.batch_legal_mask(states)
        host, hmask = jax.device_get((states, masks))
        hs_all = {k: np.asarray(v) for k, v in host.items()}
        hmask = np.asarray(hmask)
        actions = np.zeros(G, np.int32)
        on = np.zeros(G, bool)
        updates = {}
        for g in range(G):
            if not alive[g]:
                continue
            hs = {k: v[g] for k, v in hs_all.items()}
            a, new = process(g, hs, hmask[g])
            if new is not None:
                updates[g] = new
            elif a is not None:
                actions[g], on[g] = a, True
        if updates:
            states = push(states, updates)
        if on.any():
            states = eng.batch_apply(states, jnp.asarray(actions), jnp.asarray(on))

    for g in range(G):
        if not bad_game[g] and ptr[g] >= len(games[g]["steps"]):
            rep.matched += 1
    rep.seconds = time.time() - t0
    return rep
