"""The batched mover behind the server: RingRift JSON in, one device call per batch, RingRift Moves out.

`Mover.prepare` reads one request's GameState with `parity.interop` (the state is the whole truth:
phase, seat to move, chain capture, pending decisions) and checks what a move needs (a live game,
the named player to move, a board and player count this mover plays). `Mover.decide` answers a
list of prepared positions: they are grouped by rules config, each group padded to the next of a
few fixed batch sizes (so a compiled function is reused whatever the request count), and one
jitted call per group computes the legal masks, the chosen actions and the heuristic evaluation
of every position. The chosen ids go back to RingRift `Move` JSON with `interop.action_to_move`.

Players: ``heuristic`` (RingRift's one-ply greedy evaluation player, any board and player count)
or a trained checkpoint (`jaxzero.cli.load_best`) searching with `jaxzero.search.make_search` at a
deterministic budget (``gumbel_scale = 0``). Each position gets its own PRNG key from its seed, so
the same request and seed give the same move whatever else shares its batch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxzero.games.ringrift.parity import interop, notation
from jaxzero.games.ringrift.state import GAME_OVER, PHASE_NAMES, RulesConfig

DEFAULT_BATCH_SIZES = (1, 8, 64)


class BadRequest(ValueError):
    """A request the mover cannot answer (HTTP 400): the message is the reason."""


@dataclasses.dataclass
class Prepared:
    """One position ready for the device: its rules config, engine state, host copy and JSON."""

    cfg: RulesConfig
    state: Any
    host: Dict[str, np.ndarray]
    game_state: dict
    player: int  # 1-based seat to move
    seed: int


@dataclasses.dataclass
class Decision:
    """The answer for one position: a RingRift Move dict and the mover's evaluation (or an error)."""

    move: Optional[dict] = None
    evaluation: float = 0.0
    error: Optional[str] = None


def derived_seed(game_state: dict, player: int) -> int:
    """A seed from the position itself (RingRift's fallback when neither the request nor the state
    gives one): the same position always gets the same seed."""
    text = json.dumps(game_state, sort_keys=True, default=str) + f"|{player}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF


def _pad_size(n: int, sizes: Sequence[int]) -> int:
    for s in sizes:
        if n <= s:
            return s
    return sizes[-1]


class Mover:
    """Chooses moves for RingRift positions in batches; see the module docstring.

    player: ``"heuristic"`` or ``"search"`` (then ``best`` is a `jaxzero.cli.Best`). ring_order:
    how request stacks list rings (`interop.RING_ORDERS`; the ai-service contract is
    ``bottom_first``). batch_sizes: the padded batch sizes, ascending (the largest is the most
    positions in one device call).
    """

    def __init__(self, player: str = "heuristic", *, best=None, checkpoint: Optional[str] = None,
                 simulations: int = 64, max_considered: int = 16, search_kind: Optional[str] = None,
                 ring_order: str = "bottom_first", batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES):
        if player not in ("heuristic", "search"):
            raise ValueError(f"player must be 'heuristic' or 'search', got {player!r}")
        if player == "search" and best is None:
            raise ValueError("a search player needs a checkpoint (best)")
        if ring_order not in interop.RING_ORDERS:
            raise ValueError(f"ring_order must be one of {interop.RING_ORDERS}, got {ring_order!r}")
        sizes = tuple(sorted(int(s) for s in batch_sizes))
        if not sizes or sizes[0] < 1:
            raise ValueError(f"batch sizes must be positive, got {batch_sizes}")
        self.player = player
        self.best = best
        self.checkpoint = checkpoint
        self.simulations = int(simulations)
        self.max_considered = int(max_considered)
        self.search_kind = search_kind or (best.config.selfplay.search if best is not None else None)
        self.ring_order = ring_order
        self.batch_sizes = sizes
        self.game_cfg: Optional[RulesConfig] = best.game.cfg if best is not None else None
        self._fns: Dict[Tuple, Callable] = {}
        self._lock = threading.Lock()  # one device call at a time

    # ---- description ----
    @property
    def max_batch(self) -> int:
        return self.batch_sizes[-1]

    @property
    def ai_type(self) -> str:
        return "heuristic" if self.player == "heuristic" else "mcts"

    @property
    def model_id(self) -> Optional[str]:
        if self.best is None:
            return None
        return f"jaxzero:{self.best.game.id}@{self.best.iteration}"

    def describe(self) -> dict:
        d = {"player": self.player, "ai_type": self.ai_type, "backend": jax.default_backend(), "ring_order": self.ring_order,
             "batch_sizes": list(self.batch_sizes), "compiled": sorted(f"{k[0].board}_{k[0].num_players}p/b{k[1]}/s{k[2]}"
                                                                       for k in self._fns if len(k) == 3)}
        if self.best is not None:
            d.update(game=self.best.game.id, iteration=self.best.iteration, simulations=self.simulations,
                     search=self.search_kind, checkpoint=self.checkpoint)
        return d

    # ---- host side ----
    def prepare(self, game_state: dict, player_number: int, seed: Optional[int] = None, *,
                to_move: bool = True) -> Prepared:
        """The position of one request; BadRequest naming the reason it cannot be answered.
        to_move: the position must be a live game with `player_number` to move (a move request)."""
        if self.game_cfg is not None:
            name = (game_state.get("board") or {}).get("type") or game_state.get("boardType")
            p = len(game_state.get("players") or [])
            if (name, p) != (self.game_cfg.board, self.game_cfg.num_players):
                raise BadRequest(f"this server plays {self.game_cfg.board} with {self.game_cfg.num_players} players "
                                 f"(checkpoint {self.model_id}); the request is {name} with {p} players")
        try:
            cfg, state = interop.load_game_state(game_state, self.game_cfg, fill_mask=False, ring_order=self.ring_order)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError, IndexError) as e:
            raise BadRequest(f"jaxzero cannot represent this state: {e}") from None
        if self.game_cfg is None:  # one compiled config per board and player count
            cfg = dataclasses.replace(cfg, swap_rule=cfg.swap_rule and cfg.num_players == 2)
        elif not (game_state.get("rulesOptions") or {}).get("swapRuleEnabled", False):
            state = state.replace(swap_window=jnp.bool_(False))  # the model's rules offer the pie rule; this game does not
        if not to_move:
            return Prepared(cfg, state, {}, game_state, player_number, 0)
        if game_state.get("gameStatus", "active") != "active" or int(state.phase) == GAME_OVER:
            raise BadRequest(f"the game is finished (gameStatus {game_state.get('gameStatus')!r}, "
                             f"phase {game_state.get('currentPhase')!r}): there is no move to make")
        cur = int(state.cur) + 1
        if player_number != cur:
            raise BadRequest(f"player_number {player_number} is not to move: currentPlayer is {cur} "
                             f"(phase {PHASE_NAMES[int(state.phase)]})")
        if seed is None:
            seed = game_state.get("rngSeed")
        if not isinstance(seed, int) or not 0 <= seed <= 0x7FFFFFFF:
            seed = derived_seed(game_state, player_number)
        return Prepared(cfg, state, notation.to_host(state), game_state, cur, int(seed))

    # ---- device side ----
    def _fn(self, cfg: RulesConfig, size: int, simulations: int) -> Callable:
        key = (cfg, size, simulations)
        if key not in self._fns:
            self._fns[key] = self._build(cfg, simulations)
        return self._fns[key]

    def _build(self, cfg: RulesConfig, simulations: int) -> Callable:
        from jaxzero.games import ringrift
        from jaxzero.games.ringrift import heuristic

        weights = heuristic.weights_vector(None)

        def base(states):
            mask = jax.vmap(lambda s: ringrift.legal_mask(cfg, s))(states)
            agent = states.cur ^ (states.swapped.astype(jnp.int32) if cfg.num_players == 2 else 0)
            states = states.replace(legal_action_mask=mask, current_player=agent.astype(jnp.int32))
            ev = jax.vmap(lambda s: heuristic.evaluate(cfg, s, s.cur, weights))(states)
            return states, mask, ev

        if self.player == "heuristic":
            def fn(states, seeds):
                states, mask, ev = base(states)
                keys = jax.vmap(jax.random.PRNGKey)(seeds)
                acts = jax.vmap(lambda s, k: heuristic.greedy_action(cfg, s, k, weights, 0.0))(states, keys)
                return acts, mask, ev
        else:
            from jaxzero.search import SearchBudget, make_search

            best = self.best
            budget = SearchBudget(simulations, min(self.max_considered, best.game.num_actions), gumbel_scale=0.0)
            search = make_search(self.search_kind, best.game, best.apply_fn, budget)
            params = best.params

            def fn(states, seeds):
                states, mask, ev = base(states)
                out = search(params, states, jax.random.PRNGKey(0))  # deterministic: gumbel_scale 0
                return out.action.astype(jnp.int32), mask, ev

        return jax.jit(fn)

    def decide(self, items: Sequence[Prepared], simulations: Optional[int] = None) -> List[Decision]:
        """The decisions for `items`, in order (one device call per rules config and chunk)."""
        sims = self.simulations if (simulations is None or self.player == "heuristic") else int(simulations)
        if self.player == "heuristic":
            sims = 0
        out: List[Optional[Decision]] = [None] * len(items)
        groups: Dict[RulesConfig, List[int]] = {}
        for i, it in enumerate(items):
            groups.setdefault(it.cfg, []).append(i)
        with self._lock:
            for cfg, idx in groups.items():
                for lo in range(0, len(idx), self.max_batch):
                    chunk = idx[lo: lo + self.max_batch]
                    for i, d in zip(chunk, self._decide_group(cfg, [items[i] for i in chunk], sims)):
                        out[i] = d
        return out  # type: ignore[return-value]

    def _decide_group(self, cfg: RulesConfig, items: List[Prepared], sims: int) -> List[Decision]:
        size = _pad_size(len(items), self.batch_sizes)
        states = [it.state for it in items] + [items[0].state] * (size - len(items))
        batch = jax.tree.map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *states)
        seeds = np.asarray([it.seed for it in items] + [0] * (size - len(items)), np.uint32)
        acts, masks, evs = jax.device_get(self._fn(cfg, size, sims)(batch, seeds))
        res = []
        for i, it in enumerate(items):
            a, mask = int(acts[i]), np.asarray(masks[i])
            if not mask.any():
                res.append(Decision(error="jaxzero's engine finds no legal move in this state"))
                continue
            if not mask[a]:
                res.append(Decision(error=f"internal error: the player chose illegal action {a}"))
                continue
            try:
                move = interop.action_to_move(cfg, it.host, a, it.game_state)
            except ValueError as e:
                res.append(Decision(error=f"cannot express action {a} as a RingRift move: {e}"))
                continue
            move = {"id": "jaxzero", **move}
            res.append(Decision(move=move, evaluation=float(evs[i])))
        return res

    def warm(self, board: str, players: int) -> None:
        """Compiles the decision function of a game for every padded batch size (from its
        initial position), so the first requests do not wait for a compile."""
        from jaxzero.games import ringrift

        cfg = self.game_cfg or RulesConfig(board=board, num_players=players, swap_rule=players == 2)
        state = ringrift.init(cfg)
        item = Prepared(cfg, state, notation.to_host(state), {}, int(state.cur) + 1, 0)
        for size in self.batch_sizes:
            self.decide([item] * size)

    def evaluate(self, item: Prepared) -> Tuple[float, Dict[str, float]]:
        """The heuristic evaluation of the position for its player and the weighted feature
        breakdown (player's feature minus the strongest opponent's, per feature)."""
        from jaxzero.games.ringrift import heuristic

        key = ("eval", item.cfg)
        with self._lock:
            if key not in self._fns:
                w = heuristic.weights_vector(None)
                cfg = item.cfg
                self._fns[key] = jax.jit(lambda s, seat: (heuristic.evaluate(cfg, s, seat, w),
                                                          heuristic.seat_features(cfg, s) * w))
            score, feats = jax.device_get(self._fns[key](item.state, jnp.int32(item.player - 1)))
        me = feats[item.player - 1]
        others = np.delete(feats, item.player - 1, axis=0)
        rel = me - others.max(axis=0)
        return float(score), {k: float(v) for k, v in zip(heuristic.DEFAULT_WEIGHTS, rel)}
