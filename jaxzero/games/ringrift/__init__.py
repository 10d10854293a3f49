"""RingRift for jaxzero: the rules engine API (pure, jittable, vmappable functions).

- `legal_mask(cfg, state)`: the reference legal-move surface of the seat to move (interactive
  decisions, or the single bookkeeping id when there are none).
- `apply_move(cfg, state, action)`: exactly one move, with end-of-turn work.
- `step(cfg, state, action)`: apply_move + automatic bookkeeping (and single options with
  cfg.auto_single) + protocol fields.
- `init(cfg, key)`: the initial state at the first decision.
- `RingRiftEnv` (env.py): the pgx-style game protocol wrapper.

The rules modules are imported lazily so that importing the package (boards, actions, state)
never pulls in the engine.
"""

from __future__ import annotations

from jaxzero.games.ringrift.state import RulesConfig, State  # noqa: F401


def legal_mask(cfg, state):
    """bool [A] legal decisions of the seat to move (see rules/legal.py)."""
    from jaxzero.games.ringrift.rules.legal import legal_mask as f

    return f(cfg, state)


def apply_move(cfg, state, action):
    """Applies exactly one move (see rules/turn.py)."""
    from jaxzero.games.ringrift.rules.turn import apply_move as f

    return f(cfg, state, action)


def step(cfg, state, action):
    """apply_move + bookkeeping loop + protocol fields (see rules/turn.py)."""
    from jaxzero.games.ringrift.rules.turn import step as f

    return f(cfg, state, action)


def init(cfg, key=None):
    """Initial state advanced to the first decision."""
    from jaxzero.games.ringrift.rules.turn import init as f

    return f(cfg, key)


def __getattr__(name):
    if name == "RingRiftEnv":
        from jaxzero.games.ringrift.env import RingRiftEnv

        return RingRiftEnv
    raise AttributeError(name)
