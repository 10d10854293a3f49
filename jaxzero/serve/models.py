"""The AI-service contract of RingRift (synaptent/RingRift `ai-service/app/main.py` and the
`GameState` / `Move` models it imports) as pydantic models: the same field names and camelCase
aliases, so a RingRift game server can call jaxzero where it called its Python ai-service.

Only what a move needs is typed strictly (a wrong type is a 422 naming the field); everything
else RingRift sends is kept as it comes (`extra="allow"`). The board type and the phase are
plain strings: an unsupported one is a 400 with the reason, not a schema error.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_BATCH = 64


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")


class Position(_Model):
    x: int = Field(ge=-64, le=64)
    y: int = Field(ge=-64, le=64)
    z: Optional[int] = Field(None, ge=-64, le=64)


class RingStack(_Model):
    position: Optional[Position] = None
    rings: List[int] = Field(min_length=1, max_length=64)
    stack_height: Optional[int] = Field(None, alias="stackHeight")
    cap_height: Optional[int] = Field(None, alias="capHeight")
    controlling_player: Optional[int] = Field(None, alias="controllingPlayer")


class MarkerInfo(_Model):
    player: int
    position: Optional[Position] = None
    type: Optional[str] = None


class BoardState(_Model):
    type: str
    size: Optional[int] = None
    stacks: Dict[str, RingStack] = Field(default_factory=dict)
    markers: Dict[str, MarkerInfo] = Field(default_factory=dict)
    collapsed_spaces: Dict[str, int] = Field(default_factory=dict, alias="collapsedSpaces")


class Player(_Model):
    player_number: int = Field(alias="playerNumber", ge=1, le=4)
    rings_in_hand: int = Field(0, alias="ringsInHand", ge=0, le=1000)
    eliminated_rings: int = Field(0, alias="eliminatedRings", ge=0, le=1000)
    territory_spaces: int = Field(0, alias="territorySpaces", ge=0, le=1000)


class Move(_Model):
    """A RingRift Move: `type` and `player` always, the rest as the move kind needs."""

    id: Optional[str] = None
    type: str
    player: int
    from_pos: Optional[Position] = Field(None, alias="from")
    to: Optional[Position] = None
    capture_target: Optional[Position] = Field(None, alias="captureTarget")
    placement_count: Optional[int] = Field(None, alias="placementCount")
    formed_lines: Optional[List[Dict[str, Any]]] = Field(None, alias="formedLines")
    collapsed_markers: Optional[List[Position]] = Field(None, alias="collapsedMarkers")
    disconnected_regions: Optional[List[Dict[str, Any]]] = Field(None, alias="disconnectedRegions")
    recovery_option: Optional[int] = Field(None, alias="recoveryOption")
    recovery_mode: Optional[str] = Field(None, alias="recoveryMode")
    extraction_stacks: Optional[List[Any]] = Field(None, alias="extractionStacks")
    elimination_context: Optional[str] = Field(None, alias="eliminationContext")


class GameState(_Model):
    board: BoardState
    board_type: Optional[str] = Field(None, alias="boardType")
    players: List[Player] = Field(min_length=1, max_length=8)
    current_phase: str = Field(alias="currentPhase")
    current_player: int = Field(alias="currentPlayer")
    move_history: List[Move] = Field(default_factory=list, alias="moveHistory", max_length=5000)
    game_status: str = Field("active", alias="gameStatus")
    winner: Optional[int] = None
    victory_threshold: Optional[int] = Field(None, alias="victoryThreshold", ge=1, le=1000)
    territory_victory_threshold: Optional[int] = Field(None, alias="territoryVictoryThreshold", ge=1, le=1000)
    territory_victory_minimum: Optional[int] = Field(None, alias="territoryVictoryMinimum", ge=1, le=1000)
    must_move_from_stack_key: Optional[str] = Field(None, alias="mustMoveFromStackKey")
    chain_capture_position: Optional[Position] = Field(None, alias="chainCapturePosition")
    pending_line_reward_elimination: bool = Field(False, alias="pendingLineRewardElimination")
    rng_seed: Optional[int] = Field(None, alias="rngSeed")

    def as_json(self) -> dict:
        """The state as RingRift's JSON (aliases), as sent."""
        return self.model_dump(by_alias=True, exclude_unset=True)


def _player_in_range(state: GameState, player_number: int, where: str) -> None:
    if player_number > len(state.players):
        raise ValueError(f"{where} {player_number} exceeds the number of players ({len(state.players)})")


class MoveRequest(_Model):
    game_state: GameState
    player_number: int = Field(ge=1, le=4, description="the player to move, 1-based")
    difficulty: int = Field(5, ge=1, le=10)
    ai_type: Optional[str] = None
    seed: Optional[int] = Field(None, ge=0, le=0x7FFFFFFF)

    @model_validator(mode="after")
    def _check_player(self):
        _player_in_range(self.game_state, self.player_number, "player_number")
        return self


class MoveResponse(BaseModel):
    move: Optional[Dict[str, Any]]
    evaluation: float
    thinking_time_ms: int
    ai_type: str
    difficulty: int
    use_neural_net: Optional[bool] = None
    nn_model_id: Optional[str] = None
    nn_checkpoint: Optional[str] = None


class BatchMoveRequest(_Model):
    game_states: List[GameState] = Field(min_length=1, max_length=MAX_BATCH)
    player_numbers: List[int]
    difficulty: int = Field(8, ge=1, le=10)
    mode: str = "batch"
    device: str = "auto"
    simulation_budget: int = Field(64, ge=10, le=1000)
    seed: Optional[int] = Field(None, ge=0, le=0x7FFFFFFF)

    @model_validator(mode="after")
    def _check_lengths(self):
        if len(self.game_states) != len(self.player_numbers):
            raise ValueError(f"game_states ({len(self.game_states)}) and player_numbers "
                             f"({len(self.player_numbers)}) must have the same length")
        for i, (st, p) in enumerate(zip(self.game_states, self.player_numbers)):
            if p < 1:
                raise ValueError(f"player_numbers[{i}] must be >= 1, got {p}")
            _player_in_range(st, p, f"player_numbers[{i}]")
        return self


class BatchMoveItem(BaseModel):
    move: Optional[Dict[str, Any]]
    evaluation: float
    game_index: int


class BatchMoveResponse(BaseModel):
    moves: List[BatchMoveItem]
    total_thinking_time_ms: int
    games_processed: int
    mode: str
    throughput_games_per_sec: float


class EvaluationRequest(_Model):
    game_state: GameState
    player_number: int = Field(ge=1, le=4)

    @model_validator(mode="after")
    def _check_player(self):
        _player_in_range(self.game_state, self.player_number, "player_number")
        return self


class EvaluationResponse(BaseModel):
    score: float
    breakdown: Dict[str, float]
