"""Arena on device: candidate vs best (seats rotated evenly), and a net vs uniform random.

All games of a match run together under one jit. Both sides use the same deterministic search
(``gumbel_scale = 0``); the first ``opening_moves`` moves of every game are uniformly random so games
differ. Games are played in groups of ``num_players`` that share one opening and rotate the
candidate through every seat. The candidate's score per game is ``(rank outcome + 1) / 2`` (1 win,
0.5 draw, 0 loss). Games against the uniform random player need no random opening (the opponent
already varies the games) and start from the initial position. A game still running after
``max_moves`` counts 0.5 and is reported as truncated.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import chex
import jax
import jax.numpy as jnp
import numpy as np

from jaxzero.games.masks import uniform_legal
from jaxzero.search.maxn import make_search_fn_of_kind
from jaxzero.selfplay import rank_outcome


def wilson_interval(score: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a mean score in [0, 1] over ``n`` games."""
    if n <= 0:
        return 0.0, 1.0
    denom = 1 + z * z / n
    centre = (score + z * z / (2 * n)) / denom
    half = z * math.sqrt(score * (1 - score) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def summarize(scores, truncated, num_players: int) -> dict:
    """Mean score with its 95% Wilson interval, truncated count and per-seat means of per-game
    scores of one player who sat at seat ``g % num_players`` in game ``g``."""
    scores = np.asarray(scores, np.float64)
    n = scores.shape[0]
    mean = float(scores.mean())
    lo, hi = wilson_interval(mean, n)
    return {
        "score": mean,
        "ci_low": lo,
        "ci_high": hi,
        "games": n,
        "truncated": int(np.asarray(truncated).sum()),
        "seat_scores": [float(scores[r::num_players].mean()) for r in range(num_players)],
        "per_game": scores.tolist(),
    }


@dataclasses.dataclass(frozen=True)
class Arena:
    """Matches between a candidate net and an opponent (a net, or uniform random)."""

    game: Any
    apply_fn: Any
    num_simulations: int
    max_num_considered_actions: int
    opening_moves: int = 2
    max_moves: int = 512
    search: str = "auto"  # jaxzero.search.maxn.SEARCH_KINDS; "auto" = mctx for 2 players, max^n for 3-4

    def __post_init__(self):
        search = make_search_fn_of_kind(
            self.search,
            self.game,
            self.apply_fn,
            num_simulations=self.num_simulations,
            max_num_considered_actions=self.max_num_considered_actions,
            gumbel_scale=0.0,
        )
        object.__setattr__(self, "_search", search)
        object.__setattr__(self, "_vs_net", jax.jit(self._play, static_argnames=("num_games",)))
        object.__setattr__(
            self,
            "_vs_random",
            jax.jit(lambda c, k, num_games: self._play(c, None, k, num_games, opening=False), static_argnames=("num_games",)),
        )
        object.__setattr__(
            self,
            "_vs_random_raw",
            jax.jit(
                lambda c, k, num_games: self._play(c, None, k, num_games, use_search=False, opening=False),
                static_argnames=("num_games",)),
        )

    def _raw_policy_action(self, params, state):
        """Argmax of the net's legal logits: the policy alone, no search."""
        logits, _ = self.apply_fn(params, jax.vmap(self.game.observe)(state))
        return jnp.argmax(jnp.where(state.legal_action_mask, logits, -jnp.inf), axis=-1).astype(jnp.int32)

    def _play(self, cand_params, opp_params, key, num_games: int, use_search: bool = True, opening: bool = True):
        """Per-game candidate scores [num_games] and truncation flags."""
        game = self.game
        p = game.num_players
        groups = num_games // p
        k_init, k_open, k_loop = jax.random.split(key, 3)
        # Game g = group * p + r: the group shares initial state and opening; the candidate sits in seat r.
        init_keys = jnp.repeat(jax.random.split(k_init, groups), p, axis=0)
        state = jax.vmap(game.init)(init_keys)
        cand_seat = jnp.tile(jnp.arange(p, dtype=jnp.int32), groups)
        open_keys = jax.random.split(k_open, groups)

        def cond(carry):
            t, state, *_ = carry
            return (t < self.max_moves) & ~jnp.all(state.terminated | state.truncated)

        def body(carry):
            t, state, returns, key = carry
            key, k_c, k_o, k_r, k_step = jax.random.split(key, 5)
            legal = state.legal_action_mask
            if use_search and opp_params is not None:
                # one search traced for both nets (scan over the two param sets): half the compile
                both = jax.tree.map(lambda a, b: jnp.stack([a, b]), cand_params, opp_params)
                _, acts = jax.lax.scan(
                    lambda _, pk: (None, self._search(pk[0], state, pk[1]).action), None, (both, jnp.stack([k_c, k_o]))
                )
                cand_a, opp_a = acts[0], acts[1]
            else:
                if use_search:
                    cand_a = self._search(cand_params, state, k_c).action
                else:
                    cand_a = self._raw_policy_action(cand_params, state)
                if opp_params is None:
                    opp_a = uniform_legal(k_o, legal)
                else:
                    opp_a = self._search(opp_params, state, k_o).action
            action = jnp.where(state.current_player == cand_seat, cand_a, opp_a)
            # Opening: the same random moves in every game of a group.
            group_keys = jax.vmap(lambda k: jax.random.fold_in(jax.random.fold_in(k, t), 7))(open_keys)
            open_a = jax.vmap(uniform_legal)(jnp.repeat(group_keys, p, axis=0), legal)
            if opening:
                action = jnp.where(t < self.opening_moves, open_a, action)
            done_before = state.terminated | state.truncated
            state = jax.vmap(game.step)(state, action, jax.random.split(k_step, num_games))
            returns = returns + jnp.where(done_before[:, None], 0.0, state.rewards)
            return t + 1, state, returns, key

        returns0 = jnp.zeros((num_games, p), jnp.float32)
        _, state, returns, _ = jax.lax.while_loop(cond, body, (jnp.zeros((), jnp.int32), state, returns0, k_loop))
        finished = state.terminated
        outcome = jnp.take_along_axis(rank_outcome(returns), cand_seat[:, None], axis=1)[:, 0]
        score = jnp.where(finished, (outcome + 1.0) / 2.0, 0.5)
        chex.assert_shape(score, (num_games,))
        return score, ~finished

    def match(self, cand_params, opp_params, key, num_games: int) -> dict:
        """Candidate vs opponent net over ``num_games`` games: score, 95% CI, per-seat scores."""
        return self._summary(*self._vs_net(cand_params, opp_params, key, num_games=num_games))

    def vs_random(self, params, key, num_games: int) -> dict:
        """The net (with search) vs a uniform random player over ``num_games`` games."""
        return self._summary(*self._vs_random(params, key, num_games=num_games))

    def vs_random_raw_policy(self, params, key, num_games: int) -> dict:
        """The net's raw policy (argmax, no search) vs uniform random: shows what the net itself learned."""
        return self._summary(*self._vs_random_raw(params, key, num_games=num_games))

    def _summary(self, scores, truncated) -> dict:
        return summarize(scores, truncated, self.game.num_players)

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other
