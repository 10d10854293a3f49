"""RingRift as a jaxzero game (pgx-style protocol, see jaxzero/games/protocol.py; the named
games are in jaxzero/games/registry.py).

Agents vs seats (pie rule). In 2-player games with the swap rule, seat 2 may play `swap_sides`
once (R180): the board, the per-seat counters and the seat to move stay the same, but the two
*agents* exchange seats. The protocol fields of an env state are therefore per AGENT:
  current_player = seat_to_move XOR swapped   (0-based; 3-4 players: always the seat)
  rewards[a]     = reward of the seat agent a owns (seat a XOR swapped)
so a search/training loop that tracks "who moves" by `current_player` stays correct after a swap.
The engine state (`state.cur`, `state.ranks`) stays per seat.

Rewards at game end are rank based: winner +1, last -1, linear in between; players sharing a
rank (1224 ranking from `state.ranks`) get the average of the values of the places they share.
Truncation (cfg.max_moves moves, bookkeeping included) sets `truncated` with zero rewards.

Illegal ids: the jitted `step` leaves the state unchanged (an illegal id is a no-op, never a
corrupt state; a finished game stays as it is, rewards included); `step_checked`, the host-side
step of play.py and other user-facing callers, refuses it with a ValueError naming the id and phase.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxzero.games.ringrift import actions
from jaxzero.games.ringrift.boards import get_board
from jaxzero.games.ringrift.invariants import action_is_legal
from jaxzero.games.ringrift.rules import turn
from jaxzero.games.ringrift.rules.legal import legal_mask as _legal_mask
from jaxzero.games.ringrift.state import PHASE_NAMES, RulesConfig, State


def _agent_view(cfg: RulesConfig, state: State) -> State:
    """Maps the per-seat protocol fields to per-agent ones (identity unless swapped, 2p)."""
    if cfg.num_players != 2:
        return state
    sw = state.swapped.astype(jnp.int32)
    rew = jnp.where(state.swapped, state.rewards[::-1], state.rewards)
    return state.replace(current_player=(state.cur ^ sw).astype(jnp.int32), rewards=rew)


class RingRiftEnv:
    """RingRift game protocol for one static RulesConfig."""

    def __init__(self, cfg: RulesConfig | None = None, **kwargs):
        self.cfg = cfg if cfg is not None else RulesConfig(**kwargs)
        self.board = get_board(self.cfg.board)
        self.layout = actions.layout_for(self.board)
        self._checked_step = None

    # ---- protocol ----
    @property
    def id(self) -> str:
        return f"ringrift_{self.cfg.board}_{self.cfg.num_players}p"

    @property
    def num_actions(self) -> int:
        return self.layout.num_actions

    @property
    def max_legal_actions(self) -> int:
        """A static bound on the legal moves of any state (the compact search's slots, jaxzero.search).

        By the rules the placement phase offers at most 3 counts per cell plus the 5 specials
        (3N + 5: 197 on square8, 188 on hex8); the 900 reference games (/work/shared/ringrift/traces)
        peak at exactly 3N in placement and at 63 in any other phase (movement). 256 covers both
        with room; a state past it is counted by the search (``legal_overflow``), not truncated silently.
        """
        return 256

    @property
    def num_players(self) -> int:
        return self.cfg.num_players

    @property
    def observation_shape(self):
        from jaxzero.games.ringrift.observe import observation_shape

        return tuple(observation_shape(self.cfg))

    def init(self, key=None) -> State:
        """Initial state at the first decision (seat 1 placing)."""
        return _agent_view(self.cfg, turn.init(self.cfg, key))

    def step(self, state: State, action, key=None) -> State:
        """One decision, then automatic bookkeeping until the next decision or the end.

        An id that is not legal in ``state`` (outside ``[0, num_actions)``, off its
        ``legal_action_mask``, or any id once the game is over) returns ``state`` unchanged: the
        jitted step never corrupts a state (``invariants.step_violations`` checks it; the fuzzer,
        ``scripts/bench.py fuzz``, runs it on random ids). `step_checked` is the user-facing step
        that refuses such an id with a clear error instead."""
        del key
        a = jnp.asarray(action, jnp.int32)
        legal = action_is_legal(state, a)
        new = _agent_view(self.cfg, turn.step(self.cfg, state, jnp.clip(a, 0, self.num_actions - 1)))
        return jax.tree.map(lambda x, y: jnp.where(legal, x, y), new, state)

    def decision_view(self, state: State) -> State:
        """The state as `step` leaves it at a decision (or the end): an engine state (rules
        `apply_move`) with the legal mask, rewards, terminated / truncated and the agent to move
        filled in. Only meaningful where `step` would stop (no lone bookkeeping or, with
        auto_single, lone option left); `games.ringrift.records` replays games with it."""
        return _agent_view(self.cfg, turn.finish(self.cfg, state, _legal_mask(self.cfg, state)))

    def observe(self, state: State):
        """Observation planes relative to the seat to move (observe.py)."""
        from jaxzero.games.ringrift.observe import observe

        return observe(self.cfg, state)

    def heuristic_values(self, state: State, scale: float = 1.0):
        """The heuristic's evaluation of ``state`` as values in [-1, 1], float32 [P] mover-relative
        (`heuristic.mover_values` with the default weights): a leaf-value prior for search."""
        from jaxzero.games.ringrift.heuristic import mover_values, weights_vector

        return mover_values(self.cfg, state, weights_vector(), scale)

    def heuristic_policy(self, state: State, temperature: float, weights=None):
        """float32 [A]: the one-ply heuristic's distribution over the legal decisions of ``state``
        (`heuristic.heuristic_policy`: softmax of the move values at ``temperature``; 0 = evenly over
        the best), with ``weights`` (a name -> weight mapping; None = the defaults). One game."""
        from jaxzero.games.ringrift.heuristic import heuristic_policy, weights_vector

        return heuristic_policy(self.cfg, state, weights_vector(weights), temperature)

    def policy_layout(self):
        """``(gather_index [A], cell_channels, num_global)`` for a spatial policy head (observe.py)."""
        from jaxzero.games.ringrift.observe import policy_gather_table

        return policy_gather_table(self.cfg.board)

    def legal_mask(self, state: State):
        """The reference legal surface (bookkeeping id included when nothing else is legal)."""
        return _legal_mask(self.cfg, state)

    # ---- user-facing checked wrapper ----
    def describe(self, action: int) -> str:
        """Human-readable name of an action id (block and fields)."""
        block, fields = self.layout.decode(action)
        return f"{actions.BLOCK_NAMES[block]}{tuple(fields)}"

    def step_checked(self, state: State, action) -> State:
        """Non-jitted wrapper: ValueError naming the action and the phase if it is illegal."""
        try:
            a = int(action)
        except (TypeError, ValueError):
            raise ValueError(f"action must be an integer id, got {action!r}") from None
        if not 0 <= a < self.num_actions:
            raise ValueError(f"action {a} out of range [0, {self.num_actions}) for {self.id}")
        phase = PHASE_NAMES[int(state.phase)]
        if bool(state.terminated) or bool(state.truncated):
            raise ValueError(f"action {a} ({self.describe(a)}): the game is over (phase {phase})")
        mask = np.asarray(state.legal_action_mask)
        if not mask[a]:
            raise ValueError(
                f"illegal action {a} ({self.describe(a)}) in phase {phase} for seat {int(state.cur) + 1}; "
                f"{int(mask.sum())} legal actions"
            )
        if self._checked_step is None:
            self._checked_step = jax.jit(self.step)
        return self._checked_step(state, jnp.int32(a))

