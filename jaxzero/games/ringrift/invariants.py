"""What every RingRift state and every step must satisfy, checked on device over a batch.

The property tests (tests/ringrift/test_properties.py) state these on the host; here they are one
jittable checker the fuzzer (jaxzero/bench/fuzz.py) runs after every step. Each game of a batch gets
an int32 of violation bits (0 = valid); `VIOLATIONS` names bit k.

State invariants (`state_violations`):
- cells: a cell holds at most one of stack / marker / collapsed space; owners are seats 0..P;
- stacks: 0 <= height <= H, rings[:height] are seats and the slots above are empty;
- rings: per colour, rings in hand + on the board <= 18 (never created), hands >= 0, and the rings
  gone from the board and the hands equal the eliminations credited to the seats;
- turn: 0 <= cur < P, phase is a phase, the agent to move is cur (XOR swapped with 2 players),
  move_count <= max_moves, terminated == (phase is game over), never terminated and truncated;
- protocol: a running game offers a legal id, a finished one none; rewards are finite and zero
  unless the game ended by a result.

Step invariants (`step_violations`, for (state, action, next state)):
- an id that is not legal in the state (out of range, masked off, or any id once the game is over)
  leaves the state unchanged (RingRiftEnv.step's contract);
- after a legal id, no colour regains eliminated rings and progress (markers + collapsed spaces +
  eliminated rings, R-progress of the termination proof) never decreases.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxzero.games.ringrift.boards import get_board
from jaxzero.games.ringrift.state import GAME_OVER, RINGS_PER_PLAYER, RulesConfig, State

VIOLATIONS = (
    "cell_exclusive",  # a stack, a marker or a collapsed space share a cell
    "owner_range",  # an owner outside 0..P on the board
    "stack_shape",  # height out of range or ring slots inconsistent with the height
    "ring_conservation",  # rings created, negative hands, or eliminations miscounted
    "turn_fields",  # seat, phase, agent, move count or end flags inconsistent
    "protocol",  # legal mask / rewards inconsistent with the game's end
    "illegal_changed",  # an illegal id changed the state
    "rings_regained",  # a colour regained eliminated rings after a legal id
    "progress_decreased",  # markers + collapsed + eliminated decreased after a legal id
)
BIT = {name: 1 << k for k, name in enumerate(VIOLATIONS)}


def _bits(**flags) -> jax.Array:
    """int32: the OR of BIT[name] over the flags that are True."""
    out = jnp.asarray(0, jnp.int32)
    for name, bad in flags.items():
        out = out | jnp.where(bad, BIT[name], 0).astype(jnp.int32)
    return out


def _eliminated_by_colour(cfg: RulesConfig, s: State) -> jax.Array:
    """int32 [P]: rings of each colour neither in hand nor on the board."""
    seats = jnp.arange(1, cfg.num_players + 1, dtype=jnp.int32)
    on_board = jnp.sum(s.rings.astype(jnp.int32)[None, :, :] == seats[:, None, None], axis=(1, 2))
    return RINGS_PER_PLAYER - on_board - s.hand


def _progress(s: State) -> jax.Array:
    """int32: markers + collapsed spaces + eliminated rings (never decreases over a game)."""
    return jnp.sum(s.marker > 0) + jnp.sum(s.collapsed > 0) + jnp.sum(s.elim)


def _one_state(cfg: RulesConfig, s: State) -> jax.Array:
    b = get_board(cfg.board)
    p = cfg.num_players
    height, rings = s.height.astype(jnp.int32), s.rings.astype(jnp.int32)
    marker, coll = s.marker.astype(jnp.int32), s.collapsed.astype(jnp.int32)
    stack = height > 0
    exclusive = jnp.any(stack & (marker > 0)) | jnp.any(stack & (coll > 0)) | jnp.any((marker > 0) & (coll > 0))
    owners = jnp.any((marker < 0) | (marker > p)) | jnp.any((coll < 0) | (coll > p)) | jnp.any((rings < 0) | (rings > p))
    below = jnp.arange(rings.shape[-1])[None, :] < height[:, None]
    shape = jnp.any((height < 0) | (height > b.max_height)) | jnp.any((rings > 0) != below)
    gone = _eliminated_by_colour(cfg, s)
    conservation = jnp.any(gone < 0) | jnp.any(s.hand < 0) | jnp.any(s.elim < 0) | (jnp.sum(gone) != jnp.sum(s.elim))
    over = s.terminated | s.truncated
    agent = s.cur ^ s.swapped.astype(jnp.int32) if p == 2 else s.cur
    turn_fields = ((s.cur < 0) | (s.cur >= p) | (s.phase < 0) | (s.phase > GAME_OVER) | (s.current_player != agent)
                   | (s.move_count < 0) | (s.move_count > cfg.max_moves)
                   | (s.terminated != (s.phase == GAME_OVER)) | (s.terminated & s.truncated))
    any_legal = jnp.any(s.legal_action_mask)
    protocol = ((any_legal == over) | ~jnp.all(jnp.isfinite(s.rewards))
                | (~s.terminated & jnp.any(s.rewards != 0)))
    return _bits(cell_exclusive=exclusive, owner_range=owners, stack_shape=shape, ring_conservation=conservation,
                 turn_fields=turn_fields, protocol=protocol)


def action_is_legal(state: State, action) -> jax.Array:
    """bool: `action` is an id in range and set in `state.legal_action_mask` (one unbatched state)."""
    n = state.legal_action_mask.shape[-1]
    a = jnp.asarray(action, jnp.int32)
    return (a >= 0) & (a < n) & state.legal_action_mask[jnp.clip(a, 0, n - 1)]


def _one_step(cfg: RulesConfig, prev: State, action, new: State) -> jax.Array:
    legal = action_is_legal(prev, action)
    same = jnp.all(jnp.stack([jnp.all(x == y) for x, y in zip(jax.tree.leaves(prev), jax.tree.leaves(new))]))
    regained = jnp.any(_eliminated_by_colour(cfg, new) < _eliminated_by_colour(cfg, prev))
    return _one_state(cfg, new) | _bits(illegal_changed=~legal & ~same, rings_regained=legal & regained,
                                        progress_decreased=legal & (_progress(new) < _progress(prev)))


def state_violations(cfg: RulesConfig, states: State) -> jax.Array:
    """int32 [B]: the violated state invariants of each game of a batch (bits of `VIOLATIONS`)."""
    return jax.vmap(lambda s: _one_state(cfg, s))(states)


def step_violations(cfg: RulesConfig, prev: State, actions, new: State) -> jax.Array:
    """int32 [B]: for ``new = step(prev, actions)`` over a batch, the violated state invariants of
    ``new`` and step invariants of the transition (bits of `VIOLATIONS`)."""
    return jax.vmap(lambda p, a, n: _one_step(cfg, p, a, n))(prev, actions, new)


def names(bits: int) -> list[str]:
    """The names of the invariants set in ``bits``."""
    return [name for k, name in enumerate(VIOLATIONS) if int(bits) >> k & 1]
