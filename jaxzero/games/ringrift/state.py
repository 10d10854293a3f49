"""The RingRift game state (one game; batch with vmap) and its static rules configuration.

Conventions:
- Seats are 1..P in the traces; inside arrays per-seat fields are indexed s = seat - 1
  and sized P = num_players (static per compiled env). `cur` is 0-based.
- Owners stored on the board (`rings`, `marker`, `collapsed`) are seats 1..P, 0 = none.
- Stacks are stored bottom -> top: `rings[c, :height[c]]`, rings[c, height[c]-1] is the top.
- Thresholds are per-game state fields (contract vectors carry their own).
"""

from __future__ import annotations

import dataclasses

import chex
import jax.numpy as jnp

from jaxzero.games.ringrift.actions import layout_for
from jaxzero.games.ringrift.boards import get_board

# phases (the traces' names in PHASE_NAMES)
PLACE, MOVE, CAPTURE, CHAIN, LINE, TERRITORY, FORCED_ELIM, GAME_OVER = range(8)
PHASE_NAMES = (
    "ring_placement",
    "movement",
    "capture",
    "chain_capture",
    "line_processing",
    "territory_processing",
    "forced_elimination",
    "game_over",
)

# result reasons
REASON_NONE, RING_ELIMINATION, TERRITORY_CONTROL, LPS, LPS_EARLY, STALEMATE, MAX_MOVES = range(7)
REASON_NAMES = (
    "-",
    "ring_elimination",
    "territory_control",
    "last_player_standing",
    "last_player_standing_early",
    "structural_stalemate",
    "max_moves",
)

RINGS_PER_PLAYER = 18


@dataclasses.dataclass(frozen=True)
class RulesConfig:
    """Static rules options (hashable; one compiled env per value).

    board: "square8" | "hex8".
    num_players: 2..4.
    swap_rule: pie rule (only meaningful for 2 players; on in the traces).
    reference_compat: reproduce the Python reference engine's measured departures from
      the canonical spec (RULES.md preface: A1, A2, V1/V2, F1). Parity harness only.
    auto_single: the step function also applies decisions that have exactly one legal
      option (self-play default on; off for parity).
    lps_rounds: consecutive exclusive rounds for last-player-standing.
    max_moves: truncation budget counting every applied move, bookkeeping included.
    """

    board: str = "square8"
    num_players: int = 2
    swap_rule: bool = True
    reference_compat: bool = False
    auto_single: bool = False
    lps_rounds: int = 3
    max_moves: int = 600

    def __post_init__(self):
        get_board(self.board)  # validates the name
        if self.num_players not in (2, 3, 4):
            raise ValueError(f"num_players must be 2, 3 or 4, got {self.num_players}")

    @property
    def line_length(self) -> int:
        """Minimum marker-line length (R120): 4 for 2 players, 3 for 3-4, both boards."""
        return 4 if self.num_players == 2 else 3

    @property
    def victory_threshold(self) -> int:
        """Default ring-elimination threshold (R061): 18 / 24 / 30."""
        return round(RINGS_PER_PLAYER * (2 / 3 + (self.num_players - 1) / 3))

    @property
    def territory_minimum(self) -> int:
        """Default territory minimum (R062 v2): floor(cells / P) + 1."""
        return get_board(self.board).num_cells // self.num_players + 1


@chex.dataclass(frozen=True)
class State:
    """One RingRift game. Shapes: N cells, H = board.max_height, P players, A actions."""

    # board
    rings: chex.Array  # int8 [N, H]  owner seat per level, bottom -> top, 0 = empty
    height: chex.Array  # int8 [N]     0 = no stack
    marker: chex.Array  # int8 [N]     0 / owner seat
    collapsed: chex.Array  # int8 [N]  0 / owner seat
    # per seat (index seat - 1)
    hand: chex.Array  # int32 [P] rings in hand
    elim: chex.Array  # int32 [P] eliminated rings credited to the seat
    terr: chex.Array  # int32 [P] territorySpaces counter
    out_turn: chex.Array  # int32 [P] turn_count at which the seat lost its last ring (-1 never)
    # turn
    cur: chex.Array  # int32 seat to move, 0-based
    phase: chex.Array  # int32 one of PLACE..GAME_OVER
    must_move: chex.Array  # int32 cell of the stack placed this turn (follows it), -1 none   [digest mm]
    attack: chex.Array  # int32 capture phase: landing cell [ca]; chain phase: chain position [cc]; -1
    acted: chex.Array  # bool  the turn so far contains a board-changing move                [tb]
    turn_recovery: chex.Array  # bool a recovery slide happened this turn                  [rs]
    pend_line: chex.Array  # bool line-reward elimination pending                          [ple]
    pend_terr: chex.Array  # bool territory self-elimination pending                       [tp != -]
    terr_region: chex.Array  # bool [N] the region just processed (for tp)
    pend_extract: chex.Array  # bool recovery extraction (buried-ring) choice pending
    pend_rec_line: chex.Array  # bool recovery slide formed an overlength line: Option 1/2 choice pending
    rec_line: chex.Array  # bool [N] the cells of that line
    rec_axis: chex.Array  # int32 its line axis (index into board.line_axes), -1 none
    rec_strike: chex.Array  # int32 cell struck by the pending stack-strike slide (its extraction
    #   candidates were fixed before the strike, R113/R115), -1 none
    swapped: chex.Array  # bool pie rule used                                              [sw]
    swap_window: chex.Array  # bool swap may still be offered
    born: chex.Array  # int32 [N] reference_compat only: move_count + 1 when the stack on the cell came
    #   into being (placed on an empty cell or landed by a move/capture); the reference's stack
    #   dictionary order (F1). 0 = present in the loaded position (ties: lowest cell first)
    # last-player-standing tracking                                                         [L]
    lps_round: chex.Array  # int32 roundIndex
    lps_first: chex.Array  # int32 currentRoundFirstPlayer (0-based, -1 none)
    lps_seen: chex.Array  # bool [P] seat recorded this round
    lps_actor: chex.Array  # bool [P] seat had a real action this round
    lps_excl: chex.Array  # int32 exclusivePlayerForCompletedRound (-1 none)
    lps_count: chex.Array  # int32 consecutiveExclusiveRounds
    lps_cons: chex.Array  # int32 consecutiveExclusivePlayer (-1 none)
    # bookkeeping and result
    move_count: chex.Array  # int32 moves applied, bookkeeping included
    turn_count: chex.Array  # int32 turns started
    last_actor: chex.Array  # int32 seat (0-based) of the last recorded move, -1 none
    winner: chex.Array  # int32 0-based, -1 none
    reason: chex.Array  # int32 REASON_*
    ranks: chex.Array  # int32 [P] 1 = best, shared ranks allowed (1224), 0 until game over
    victory_threshold: chex.Array  # int32
    territory_minimum: chex.Array  # int32
    # protocol fields (pgx-style)
    current_player: chex.Array  # int32 = cur (seat of the agent to move; see env for swap)
    legal_action_mask: chex.Array  # bool [A]
    rewards: chex.Array  # float32 [P]
    terminated: chex.Array  # bool
    truncated: chex.Array  # bool


def empty_state(cfg: RulesConfig) -> State:
    """The initial position: empty board, 18 rings in hand each, seat 1 in ring_placement.

    The legal mask is left all-False here; env.init fills it.
    """
    b = get_board(cfg.board)
    n, h, p = b.num_cells, b.max_height, cfg.num_players
    a = layout_for(b).num_actions
    i32 = lambda v: jnp.asarray(v, jnp.int32)  # noqa: E731
    false = jnp.asarray(False)
    return State(
        rings=jnp.zeros((n, h), jnp.int8),
        height=jnp.zeros((n,), jnp.int8),
        marker=jnp.zeros((n,), jnp.int8),
        collapsed=jnp.zeros((n,), jnp.int8),
        hand=jnp.full((p,), RINGS_PER_PLAYER, jnp.int32),
        elim=jnp.zeros((p,), jnp.int32),
        terr=jnp.zeros((p,), jnp.int32),
        out_turn=jnp.full((p,), -1, jnp.int32),
        cur=i32(0),
        phase=i32(PLACE),
        must_move=i32(-1),
        attack=i32(-1),
        acted=false,
        turn_recovery=false,
        pend_line=false,
        pend_terr=false,
        terr_region=jnp.zeros((n,), bool),
        pend_extract=false,
        pend_rec_line=false,
        rec_line=jnp.zeros((n,), bool),
        rec_axis=i32(-1),
        rec_strike=i32(-1),
        swapped=false,
        swap_window=jnp.asarray(cfg.swap_rule and p == 2),
        born=jnp.zeros((n,), jnp.int32),
        lps_round=i32(0),
        lps_first=i32(-1),
        lps_seen=jnp.zeros((p,), bool),
        lps_actor=jnp.zeros((p,), bool),
        lps_excl=i32(-1),
        lps_count=i32(0),
        lps_cons=i32(-1),
        move_count=i32(0),
        turn_count=i32(0),
        last_actor=i32(-1),
        winner=i32(-1),
        reason=i32(REASON_NONE),
        ranks=jnp.zeros((p,), jnp.int32),
        victory_threshold=i32(cfg.victory_threshold),
        territory_minimum=i32(cfg.territory_minimum),
        current_player=i32(0),
        legal_action_mask=jnp.zeros((a,), bool),
        rewards=jnp.zeros((p,), jnp.float32),
        terminated=false,
        truncated=false,
    )
