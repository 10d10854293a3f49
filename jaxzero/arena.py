"""Arena on device: a net with search against another net, uniform random or a network-free player.

Every match runs all its games under one jit through `jaxzero.match.play_games` (seats rotated over
groups of ``num_players`` games that share an initial state and a random opening; score per game
``(rank outcome + 1) / 2``: 1 win, 0.5 draw or unfinished after ``max_moves``, 0 loss). The net
searches deterministically (``gumbel_scale = 0``) with the arena's budget. Games against uniform
random need no random opening (the opponent already varies the games) and start from the initial
position; net-vs-net and net-vs-player games open with ``opening_moves`` random decisions so games
differ. Params are arguments: one compile per ``num_games`` (and per player), not per net.
The games are split over the ``mesh``'s ``"data"`` axis (`jaxzero.mesh`; ``num_games`` divisible by
its device count) under ``shard_map``, params and keys replicated, each game searched alone with
its own key (`jaxzero.match.play_games`): no cross-device communication, the results of one device.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp

from jaxzero import mesh as mesh_lib
from jaxzero.match import players_act, play_games, search_player, summarize
from jaxzero.players import policy_player, random_player
from jaxzero.search import SearchBudget, make_search


@dataclasses.dataclass(frozen=True)
class Arena:
    """Matches of a searching net (the candidate) against a net, uniform random, or a player."""

    game: Any
    apply_fn: Any
    num_simulations: int
    max_num_considered_actions: int
    opening_moves: int = 2
    max_moves: int = 512
    search: str = "auto"  # jaxzero.search.kinds.SEARCH_KINDS; "auto" = mctx for 2 players, max^n for 3-4
    mesh: Any = None  # jax.sharding.Mesh with axis "data" splitting the games (None: one device)

    def __post_init__(self):
        if self.mesh is None:
            object.__setattr__(self, "mesh", mesh_lib.data_mesh(1))
        budget = SearchBudget(self.num_simulations, self.max_num_considered_actions, gumbel_scale=0.0)
        search = make_search(self.search, self.game, self.apply_fn, budget)
        object.__setattr__(self, "_search", search)
        object.__setattr__(self, "_vs_net", jax.jit(self._net_vs_net, static_argnames=("num_games",)))
        object.__setattr__(self, "_vs_random", jax.jit(self._net_vs_random, static_argnames=("num_games",)))
        object.__setattr__(
            self, "_vs_random_raw", jax.jit(self._raw_policy_vs_random, static_argnames=("num_games",))
        )
        object.__setattr__(self, "_vs_player", jax.jit(self._net_vs_player, static_argnames=("player", "num_games")))
        object.__setattr__(
            self, "_raw_vs_player", jax.jit(self._raw_policy_vs_player, static_argnames=("player", "num_games"))
        )

    def _net_vs_net(self, cand_params, opp_params, key, num_games: int):
        # one search traced for both nets (a scan over the two param sets): half the compile; the
        # params are stacked once, outside the match loop
        both = jax.tree.map(lambda a, b: jnp.stack([a, b]), cand_params, opp_params)

        def act(states, key):
            keys = jax.random.split(key)
            _, acts = jax.lax.scan(lambda _, pk: (None, self._search(pk[0], states, pk[1]).action), None, (both, keys))
            return acts[0], acts[1]

        return play_games(self.game, act, key, num_games, self.max_moves, self.opening_moves, self.mesh)

    def _net_vs_random(self, params, key, num_games: int):
        act = players_act(search_player(self._search, params), random_player)
        return play_games(self.game, act, key, num_games, self.max_moves, mesh=self.mesh)

    def _raw_policy_vs_random(self, params, key, num_games: int):
        act = players_act(policy_player(self.game, self.apply_fn, params), random_player)
        return play_games(self.game, act, key, num_games, self.max_moves, mesh=self.mesh)

    def _net_vs_player(self, params, key, player: Callable, num_games: int):
        act = players_act(search_player(self._search, params), player)
        return play_games(self.game, act, key, num_games, self.max_moves, self.opening_moves, self.mesh)

    def _raw_policy_vs_player(self, params, key, player: Callable, num_games: int):
        act = players_act(policy_player(self.game, self.apply_fn, params), player)
        return play_games(self.game, act, key, num_games, self.max_moves, self.opening_moves, self.mesh)

    def match(self, cand_params, opp_params, key, num_games: int) -> dict:
        """Candidate vs opponent net over ``num_games`` games: score, 95% CI, per-seat scores."""
        cand_params, opp_params, key = self._replicated(cand_params, opp_params, key)
        return self._summary(*self._vs_net(cand_params, opp_params, key, num_games=num_games))

    def vs_random(self, params, key, num_games: int) -> dict:
        """The net (with search) vs a uniform random player over ``num_games`` games."""
        return self._summary(*self._vs_random(*self._replicated(params, key), num_games=num_games))

    def vs_random_raw_policy(self, params, key, num_games: int) -> dict:
        """The net's raw policy (argmax, no search) vs uniform random: shows what the net itself learned."""
        return self._summary(*self._vs_random_raw(*self._replicated(params, key), num_games=num_games))

    def vs_player(self, params, player: Callable, key, num_games: int) -> dict:
        """The net (with search) vs a batched network-free player `(states, key) -> actions` (e.g. the
        heuristic anchor) in every other seat. ``player`` is a static jit argument: it must be hashable
        and long-lived (build it once; a fresh closure per call compiles per call)."""
        return self._summary(*self._vs_player(*self._replicated(params, key), player=player, num_games=num_games))

    def raw_policy_vs_player(self, params, player: Callable, key, num_games: int) -> dict:
        """The net's raw policy (argmax over legal logits, no search) vs a batched network-free player
        (e.g. the heuristic), with the same openings as `vs_player`: has the net itself outgrown it?"""
        return self._summary(*self._raw_vs_player(*self._replicated(params, key), player=player,
                                                  num_games=num_games))

    def _replicated(self, *args):
        """Params and keys placed whole on every device of the mesh (they may come committed to one)."""
        return mesh_lib.replicate(args, self.mesh)

    def _summary(self, scores, unfinished) -> dict:
        return summarize(scores, unfinished, self.game.num_players)

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other
