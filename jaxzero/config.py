"""Default hyperparameters (one place) and validation with clear errors.

Config files in ``configs/`` start from `default_config()` and override what differs. Every
hyperparameter of the loop lives here; the whole config is saved beside every checkpoint.
"""

from __future__ import annotations

import json

import ml_collections

# Keys that fix the shape of what a checkpoint holds: a checkpoint saved under other values is refused.
CHECKPOINT_IDENTITY_KEYS = (
    "game.name",
    "net.num_blocks",
    "net.channels",
    "net.value_hidden",
    "net.policy_head",
    "train.params_ema",  # 0 vs > 0 changes the optimizer state's structure (another decay does not: _IDENTITY_VIEWS)
)
# identity keys of which only a property fixes the checkpoint's shapes: values compare through these
_IDENTITY_VIEWS = {"train.params_ema": lambda v: v is not None and float(v) > 0}


def default_config() -> ml_collections.ConfigDict:
    """All hyperparameters with their defaults (a small connect-four-sized run)."""
    c = ml_collections.ConfigDict()
    c.seed = 0

    c.game = ml_collections.ConfigDict()
    c.game.name = "connect_four"
    c.game.max_moves = 64  # a game still running after this many moves is truncated (no value target)

    c.net = ml_collections.ConfigDict()
    c.net.num_blocks = 3
    c.net.channels = 32
    c.net.value_hidden = 64
    c.net.policy_head = "dense"
    c.net.dtype = "float32"  # training's compute dtype (params are float32 always)
    # self-play, matches and serving: "auto" = bfloat16 on GPU/TPU, float32 on CPU (where bfloat16 is
    # emulated); the argmax agrees with float32 on >= 99% of positions (tests/test_nn.py, BENCHMARKS.md)
    c.net.inference_dtype = "auto"

    c.selfplay = ml_collections.ConfigDict()
    c.selfplay.batch_size = 64  # games advanced together
    c.selfplay.num_steps = 64  # moves per game slot per iteration (positions = batch_size * num_steps)
    c.selfplay.chunk_steps = 16  # moves per jitted call (one progress-bar tick)
    c.selfplay.num_simulations = 32
    c.selfplay.max_num_considered_actions = 16
    c.selfplay.gumbel_scale = 1.0
    c.selfplay.temperature = 1.0
    c.selfplay.temperature_moves = 4  # first N moves of a game sampled from the improved policy
    c.selfplay.search = "auto"  # "auto" (mctx for 2 players, max^n for 3-4), "mctx", "maxn", "paranoid"
    # search over the compact legal list (the game's max_legal_actions slots, not all action ids):
    # the same search, cheaper; False = over all ids (jaxzero.search.common.SearchBudget.compact)
    c.selfplay.compact = True
    # scale of the completed Q-values in the improved policy (the policy target), mctx's value_scale:
    # softmax(logits + (50 + max visits) * value_scale * q), q rescaled to [0, 1]. 0.1 = mctx's default;
    # smaller keeps the target nearer the prior when the value head is noisy (self-play only: the
    # arena plays with the default)
    c.selfplay.value_scale = 0.1
    # min-max rescale the completed Q-values to [0, 1] before scaling (mctx's default). With a few
    # simulations and a noisy value head the rescale stretches noise-sized differences to the full
    # range; False shifts the logits by the raw Q differences instead
    c.selfplay.rescale_values = True
    # playout-cap randomisation (KataGo): each self-play move is a full search (num_simulations, gives a
    # policy target) with probability full_search_prob, else a fast one (fast_simulations /
    # fast_considered, value target only); drawn once per move for the whole batch. 1.0 = off
    c.selfplay.full_search_prob = 1.0
    c.selfplay.fast_simulations = 16
    c.selfplay.fast_considered = 8
    # Leaf-value prior (issue 18): the self-play search's leaf values mix the network's with the
    # game's hand-written evaluation (RingRift: the heuristic's, `heuristic_values`), weight linear
    # from `prior_value_weight` at iteration 0 to `prior_value_final_weight` at
    # `prior_value_decay_iterations` (0 = constant); `prior_value_scale` maps evaluation differences
    # to values (tanh). The teacher's judgement guides the targets while the value head is weak, then
    # fades. Matches and the arena always use the network alone. 0 = off.
    c.selfplay.prior_value_weight = 0.0
    c.selfplay.prior_value_final_weight = 0.0
    c.selfplay.prior_value_decay_iterations = 0
    c.selfplay.prior_value_scale = 1.0
    c.selfplay.holdout_slots = 4  # game slots whose positions are held out for policy_accuracy
    # the policy target of a searched position: "improved" = the search's improved policy (mctx's
    # action_weights, Gumbel MuZero's target); "chosen" = a one-hot of the move the search chose (expert
    # iteration: the raw policy imitates the searched player, as the bootstrap imitates the heuristic)
    c.selfplay.policy_target = "improved"

    c.replay = ml_collections.ConfigDict()
    c.replay.capacity = 65536

    c.train = ml_collections.ConfigDict()
    c.train.batch_size = 256
    c.train.steps_per_iteration = 50
    c.train.learning_rate = 2e-3
    c.train.warmup_steps = 50
    c.train.decay_steps = 5000
    c.train.end_learning_rate_factor = 0.05
    # > 0: a constant learning rate for every step after the bootstrap's bootstrap.train_steps (self-play
    # fine-tuning of an imitating net; 0: the warmup-cosine schedule above runs on). BENCHMARKS "what
    # harms": at the schedule's ~1.7e-3 the self-play targets break the bootstrap's policy head
    c.train.selfplay_learning_rate = 0.0
    c.train.weight_decay = 1e-4
    c.train.max_grad_norm = 1.0
    c.train.value_loss_weight = 1.0
    # weight of the policy loss on positions whose move a search chose (their improved-policy targets);
    # positions of a network-free player (the heuristic's one-hot moves) keep weight 1. Below 1 trains
    # the policy less toward targets that follow a weak value head (BENCHMARKS "what harms")
    c.train.search_policy_weight = 1.0
    # Q+z value targets: the share w in [0, 1] of the search's value (the chosen move's Q) in a searched
    # position's value target, (1 - w) z + w q (`jaxzero.train.mixed_value_targets`); 0 = the game's outcome z alone. Positions
    # no search saw (the bootstrap's heuristic games) keep z. Held-out value loss is always against z
    c.train.value_q_weight = 0.0
    # > 0: the candidate is an exponential moving average of the trained parameters with this decay
    # (per train step; 0.99 averages ~100 steps), as KataGo's weight averaging: less step-to-step noise
    # in the net the gate judges, at the same learning rate. Training goes on from the raw parameters.
    # 0: the candidate is the trained parameters. Part of a checkpoint's identity (the optimizer state's shape)
    c.train.params_ema = 0.0

    c.arena = ml_collections.ConfigDict()
    c.arena.num_games = 64  # candidate vs best, seats swapped evenly
    c.arena.vs_random_games = 64  # best vs uniform random
    c.arena.opening_moves = 2  # random first moves so games differ
    c.arena.promotion_threshold = 0.55
    c.arena.max_moves = 64
    # promotion gate: "lcb" = score >= promotion_threshold AND the 95% Wilson lower bound > 0.5;
    # "threshold" = score >= promotion_threshold only (the foundation loop's rule); "always" =
    # continuous training (AlphaZero): every candidate becomes the best, the match only reports
    c.arena.gate = "lcb"
    # the best's anchor matches (vs random, the heuristic, recent bests) are played when a net becomes
    # the best; True re-plays them every iteration (more games for an unchanged net, more time)
    c.arena.remeasure_best = False
    # search budget of the best's anchor matches (vs random, the heuristic, recent bests); 0 = the
    # self-play budget. The gate (candidate vs best) always plays at the self-play budget.
    c.arena.eval_simulations = 0
    c.arena.eval_considered = 0

    # The network-free heuristic (jaxzero.players): mixed self-play data and the Elo anchor.
    _add_data_and_safety(c)
    return c


def _add_data_and_safety(c: ml_collections.ConfigDict) -> None:
    """The sections of `default_config` for the heuristic, mixed data, bootstrap, rollback, Elo, fault
    injection and the run itself (in place)."""
    c.heuristic = ml_collections.ConfigDict()
    c.heuristic.player = "auto"  # "auto": the game's own (RingRift) else generic one-ply greedy; "greedy"; "none"
    c.heuristic.epsilon = 0.0  # share of uniformly random moves
    c.heuristic.weights = ml_collections.ConfigDict()  # evaluation weights (RingRift configs fill them)

    # Mixed data: share of self-play games with heuristic seats, linear from `heuristic_share` at
    # iteration 0 to `final_share` at `decay_iterations` (0 = constant `heuristic_share`).
    c.mix = ml_collections.ConfigDict()
    c.mix.heuristic_share = 0.0
    c.mix.final_share = 0.0
    c.mix.decay_iterations = 0
    c.mix.heuristic_seats = "all"  # "all": heuristic vs heuristic games; "one": the heuristic plays one seat
    c.mix.heuristic_policy_target = False  # heuristic moves give a one-hot policy target (default: none)

    # Bootstrap (a fresh run only): before iteration 0 the heuristic plays `batch_size` games at once
    # for `num_steps` decisions each against itself, without search (finished games restart). The
    # positions go into the replay buffer with the heuristic's move as a one-hot policy target and the
    # game outcome as value target (the last `holdout_slots` games are held out and give
    # `bootstrap/accuracy`); the candidate trains `train_steps` steps on them and becomes the first
    # best without a gate (the one it would face is the untrained net). num_steps = 0: off.
    c.bootstrap = ml_collections.ConfigDict()
    c.bootstrap.num_steps = 0  # a multiple of selfplay.chunk_steps
    c.bootstrap.batch_size = 256
    c.bootstrap.holdout_slots = 8
    c.bootstrap.train_steps = 0
    # the policy target of a heuristic position: < 0, a one-hot of the move played; >= 0, the
    # heuristic's distribution over every legal move (a game's `heuristic_policy`: softmax of the
    # one-ply values at this temperature; 0 spreads it over the best-valued moves). Distillation: the
    # net learns the heuristic's ranking of all moves, not one draw of its tie-breaks per position.
    c.bootstrap.policy_temperature = -1.0

    # Rollback to the last good checkpoint's best params + optimizer state.
    c.rollback = ml_collections.ConfigDict()
    c.rollback.on_nonfinite = True  # a non-finite training loss (or params) rolls back
    # a promotion whose score vs the heuristic is below the previous best's by more than this rolls
    # back (negative: off; needs elo.heuristic_games > 0 and a heuristic). Mind the noise: over 64
    # games a score difference has a standard error of ~0.08.
    c.rollback.heuristic_margin = 0.15
    # stop the run (the checkpoints keep the last good state) after this many consecutive iterations
    # rolled back for a non-finite loss, instead of looping on them; 0 = never stop
    c.rollback.max_nonfinite = 3

    # Elo ladder: every iteration the best plays uniform random, the heuristic and recent bests.
    c.elo = ml_collections.ConfigDict()
    c.elo.enabled = True
    c.elo.heuristic_games = 64  # best vs the heuristic (0: no heuristic anchor)
    c.elo.recent_bests = 2  # previous bests (by promotion) the best plays each iteration
    c.elo.num_games = 32  # games per recent-best pairing
    c.elo.anchor_games = 64  # heuristic vs random, once per run, ties the anchors together
    # the best vs the heuristic-bootstrapped first best (config.bootstrap), at the eval budget, when a
    # net becomes the best: does self-play beat the imitation it started from? (0: not played)
    c.elo.bootstrap_games = 0
    c.elo.prior = 1.0  # virtual drawn games per observed pairing (keeps ratings finite)
    c.elo.plot = True  # elo.png in the workdir, written every iteration

    # Fault injection for tests: the self-play batch of this iteration gets NaN observations.
    c.debug = ml_collections.ConfigDict()
    c.debug.poison_iteration = -1

    # The device mesh (jaxzero.mesh): one axis "data" over the first `devices` of jax.devices() (0: all).
    # Self-play games, train positions and arena games are split over it (data parallel); every
    # global batch size (selfplay.batch_size, train.batch_size, arena and elo games) must divide by it.
    c.mesh = ml_collections.ConfigDict()
    c.mesh.devices = 0

    c.loop = ml_collections.ConfigDict()
    c.loop.num_iterations = 20
    c.loop.max_to_keep = 3  # checkpoints kept
    c.loop.plots = True  # plots.png in the workdir (losses, accuracy, scores, Elo, throughput), every iteration
    # RingRift: games of the best against itself (self-play budget, deterministic search) kept each iteration
    # in <workdir>/games/: records.jsonl (RingRift game records) and iteration_XXXX.html (the replayer); 0 = off
    c.loop.sample_games = 1


def fill_defaults(cfg: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """Adds (in place) every key ``cfg`` lacks from `default_config()`, so configs saved by older
    versions (e.g. a checkpoint's) keep working when fields are added; returns ``cfg``."""

    def merge(dst, src):
        for k in src.keys():
            v = src[k]
            if k not in dst:
                dst[k] = v
            elif isinstance(v, ml_collections.ConfigDict) and isinstance(dst[k], ml_collections.ConfigDict):
                merge(dst[k], v)

    with cfg.unlocked():
        merge(cfg, default_config())
    return cfg


def _linear(start: float, end: float, decay_iterations: int, iteration: int) -> float:
    """``start`` at iteration 0 moving linearly to ``end`` at ``decay_iterations`` (0: constant ``start``)."""
    if decay_iterations <= 0:
        return float(start)
    frac = min(max(iteration, 0) / decay_iterations, 1.0)
    return float(start + frac * (end - start))


def heuristic_share(cfg, iteration: int) -> float:
    """The scheduled share of heuristic games at ``iteration`` (config.mix)."""
    m = cfg.mix
    return _linear(m.heuristic_share, m.final_share, m.decay_iterations, iteration)


def prior_value_weight(cfg, iteration: int) -> float:
    """The scheduled weight of the leaf-value prior at ``iteration`` (config.selfplay.prior_value_*)."""
    sp = cfg.selfplay
    return _linear(sp.prior_value_weight, sp.prior_value_final_weight, sp.prior_value_decay_iterations, iteration)


def uses_value_prior(cfg) -> bool:
    """Whether any iteration's self-play search mixes in the game's leaf-value prior."""
    return max(cfg.selfplay.prior_value_weight, cfg.selfplay.prior_value_final_weight) > 0


def _checked(path: str, check, *args) -> None:
    """Runs the owning module's ``check(*args)``; its ValueError names the config key ``path``."""
    try:
        check(*args)
    except ValueError as e:
        raise ValueError(f"config.{path}: {e}") from None


def _positive(cfg, path):
    value = cfg
    for part in path.split("."):
        value = value[part]
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"config.{path} must be a positive integer, got {value!r}")


def validate(cfg: ml_collections.ConfigDict, game=None) -> None:
    """Raises ValueError naming the offending key when ``cfg`` cannot run; with ``game``, also what
    depends on the game (player counts, the policy head's layout, the search kind)."""
    from jaxzero.games.registry import available_games
    from jaxzero.nn.model import check_policy_head
    from jaxzero.players import check_heuristic_kind
    from jaxzero.search.kinds import resolve_kind
    from jaxzero.selfplay import check_heuristic_seats, check_policy_target

    if cfg.game.name not in available_games():
        raise ValueError(f"config.game.name: unknown game {cfg.game.name!r}; known: {', '.join(available_games())}")
    for path in (
        "game.max_moves",
        "net.num_blocks",
        "net.channels",
        "net.value_hidden",
        "selfplay.batch_size",
        "selfplay.num_steps",
        "selfplay.chunk_steps",
        "selfplay.num_simulations",
        "selfplay.max_num_considered_actions",
        "replay.capacity",
        "train.batch_size",
        "train.steps_per_iteration",
        "train.decay_steps",
        "arena.num_games",
        "arena.vs_random_games",
        "arena.max_moves",
        "loop.num_iterations",
        "loop.max_to_keep",
        "bootstrap.batch_size",
    ):
        _positive(cfg, path)
    sample = cfg.loop.get("sample_games", 1)
    if not isinstance(sample, int) or isinstance(sample, bool) or sample < 0:
        raise ValueError(f"config.loop.sample_games must be a non-negative integer, got {sample!r}")
    _checked("net.policy_head", check_policy_head, cfg.net.policy_head, game)
    # without a game, any kind valid for some player count passes; with one, mctx needs 2 players
    _checked("selfplay.search", resolve_kind, cfg.selfplay.search, game.num_players if game is not None else 2)
    if cfg.net.dtype not in ("float32", "bfloat16"):
        raise ValueError(f"config.net.dtype must be 'float32' or 'bfloat16', got {cfg.net.dtype!r}")
    if cfg.net.inference_dtype not in ("auto", "float32", "bfloat16"):
        raise ValueError(
            f"config.net.inference_dtype must be 'auto', 'float32' or 'bfloat16', got {cfg.net.inference_dtype!r}")
    if cfg.selfplay.num_steps % cfg.selfplay.chunk_steps:
        raise ValueError(
            f"config.selfplay.num_steps ({cfg.selfplay.num_steps}) must be a multiple of "
            f"config.selfplay.chunk_steps ({cfg.selfplay.chunk_steps})"
        )
    if not 0 <= cfg.selfplay.holdout_slots < cfg.selfplay.batch_size:
        raise ValueError(
            f"config.selfplay.holdout_slots must be in [0, selfplay.batch_size), got {cfg.selfplay.holdout_slots}"
        )
    if not 0.0 < cfg.selfplay.full_search_prob <= 1.0:
        raise ValueError(f"config.selfplay.full_search_prob must be in (0, 1], got {cfg.selfplay.full_search_prob}")
    if cfg.selfplay.full_search_prob < 1.0:
        _positive(cfg, "selfplay.fast_simulations")
        _positive(cfg, "selfplay.fast_considered")
    if not cfg.selfplay.value_scale > 0:
        raise ValueError(f"config.selfplay.value_scale must be > 0, got {cfg.selfplay.value_scale}")
    if cfg.selfplay.temperature <= 0:
        raise ValueError(f"config.selfplay.temperature must be > 0, got {cfg.selfplay.temperature}")
    if cfg.selfplay.temperature_moves < 0 or cfg.arena.opening_moves < 0:
        raise ValueError("config.selfplay.temperature_moves and config.arena.opening_moves must be >= 0")
    for key in ("eval_simulations", "eval_considered"):
        if cfg.arena[key] < 0:
            raise ValueError(f"config.arena.{key} must be >= 0 (0: the self-play budget), got {cfg.arena[key]}")
    if not 0.0 <= cfg.arena.promotion_threshold <= 1.0:
        raise ValueError(f"config.arena.promotion_threshold must be in [0, 1], got {cfg.arena.promotion_threshold}")
    if cfg.train.learning_rate <= 0:
        raise ValueError(f"config.train.learning_rate must be > 0, got {cfg.train.learning_rate}")
    for key in ("value_loss_weight", "search_policy_weight", "selfplay_learning_rate"):
        if not cfg.train[key] >= 0:  # a negative weight would train away from the targets
            raise ValueError(f"config.train.{key} must be >= 0, got {cfg.train[key]}")
    if not 0.0 <= cfg.train.params_ema < 1.0:
        raise ValueError(f"config.train.params_ema must be in [0, 1) (0: off), got {cfg.train.params_ema}")
    if not 0.0 <= cfg.train.value_q_weight <= 1.0:
        raise ValueError(f"config.train.value_q_weight must be in [0, 1], got {cfg.train.value_q_weight}")
    if cfg.arena.gate not in ("lcb", "threshold", "always"):
        raise ValueError(f"config.arena.gate must be 'lcb', 'threshold' or 'always', got {cfg.arena.gate!r}")
    _checked("heuristic.player", check_heuristic_kind, cfg.heuristic.player)
    if not 0.0 <= cfg.heuristic.epsilon <= 1.0:
        raise ValueError(f"config.heuristic.epsilon must be in [0, 1], got {cfg.heuristic.epsilon}")
    for key in ("heuristic_share", "final_share"):
        if not 0.0 <= cfg.mix[key] <= 1.0:
            raise ValueError(f"config.mix.{key} must be in [0, 1], got {cfg.mix[key]}")
    if cfg.mix.decay_iterations < 0:
        raise ValueError(f"config.mix.decay_iterations must be >= 0, got {cfg.mix.decay_iterations}")
    _checked("mix.heuristic_seats", check_heuristic_seats, cfg.mix.heuristic_seats)
    for key in ("prior_value_weight", "prior_value_final_weight"):
        if not 0.0 <= cfg.selfplay[key] <= 1.0:
            raise ValueError(f"config.selfplay.{key} must be in [0, 1], got {cfg.selfplay[key]}")
    if cfg.selfplay.prior_value_decay_iterations < 0:
        raise ValueError(
            f"config.selfplay.prior_value_decay_iterations must be >= 0, got {cfg.selfplay.prior_value_decay_iterations}")
    if not cfg.selfplay.prior_value_scale > 0:
        raise ValueError(f"config.selfplay.prior_value_scale must be > 0, got {cfg.selfplay.prior_value_scale}")
    _checked("selfplay.policy_target", check_policy_target, cfg.selfplay.policy_target)
    if cfg.heuristic.player == "none" and max(cfg.mix.heuristic_share, cfg.mix.final_share) > 0:
        raise ValueError("config.mix.heuristic_share > 0 needs a heuristic, but config.heuristic.player is 'none'")
    b = cfg.bootstrap
    if b.num_steps < 0 or b.train_steps < 0:
        raise ValueError(f"config.bootstrap.num_steps and train_steps must be >= 0, got {b.num_steps}, {b.train_steps}")
    if b.num_steps > 0:
        if cfg.heuristic.player == "none":
            raise ValueError("config.bootstrap.num_steps > 0 needs a heuristic, but config.heuristic.player is 'none'")
        if b.num_steps % cfg.selfplay.chunk_steps:
            raise ValueError(
                f"config.bootstrap.num_steps ({b.num_steps}) must be a multiple of "
                f"config.selfplay.chunk_steps ({cfg.selfplay.chunk_steps})"
            )
        if not 0 <= b.holdout_slots < b.batch_size:
            raise ValueError(
                f"config.bootstrap.holdout_slots must be in [0, bootstrap.batch_size), got {b.holdout_slots} "
                f"with batch_size {b.batch_size}"
            )
        if b.train_steps == 0:
            raise ValueError("config.bootstrap.num_steps > 0 needs bootstrap.train_steps > 0 (the data would go unused)")
        if b.policy_temperature >= 0 and game is not None and not callable(getattr(game, "heuristic_policy", None)):
            raise ValueError(f"config.bootstrap.policy_temperature >= 0 needs a game with a heuristic policy "
                             f"(heuristic_policy); {game.id} has none")
    elif b.train_steps > 0:
        raise ValueError("config.bootstrap.train_steps > 0 needs bootstrap.num_steps > 0 (nothing to train on)")
    for key in ("heuristic_games", "recent_bests", "num_games", "anchor_games", "bootstrap_games"):
        if cfg.elo[key] < 0:
            raise ValueError(f"config.elo.{key} must be >= 0, got {cfg.elo[key]}")
    if cfg.rollback.max_nonfinite < 0:
        raise ValueError(f"config.rollback.max_nonfinite must be >= 0 (0: never stop), got {cfg.rollback.max_nonfinite}")
    if cfg.elo.prior < 0:
        raise ValueError(f"config.elo.prior must be >= 0, got {cfg.elo.prior}")
    if game is not None:
        from jaxzero import mesh as mesh_lib

        # the global batches split over the mesh's devices (asks JAX for its devices: only with a game)
        mesh_lib.check_divisible(cfg, mesh_lib.num_devices(cfg.mesh.devices))
        if cfg.arena.num_games % game.num_players or cfg.arena.vs_random_games % game.num_players:
            raise ValueError(
                f"config.arena.num_games and vs_random_games must be multiples of num_players ({game.num_players}) "
                "so seats are swapped evenly"
            )
        if uses_value_prior(cfg) and not callable(getattr(game, "heuristic_values", None)):
            raise ValueError(f"config.selfplay.prior_value_weight > 0 needs a game with a hand-written evaluation "
                             f"(heuristic_values); {game.id} has none")
        for key in ("heuristic_games", "num_games", "anchor_games", "bootstrap_games"):
            if cfg.elo.enabled and cfg.elo[key] % game.num_players:
                raise ValueError(
                    f"config.elo.{key} ({cfg.elo[key]}) must be a multiple of num_players ({game.num_players}) "
                    "so seats are swapped evenly"
                )


def to_json(cfg: ml_collections.ConfigDict) -> dict:
    """The config as a plain JSON-compatible dict."""
    return json.loads(cfg.to_json())


def flatten(d: dict, prefix: str = "") -> dict:
    """``{"a": {"b": 1}} -> {"a.b": 1}``."""
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def identity_mismatches(saved: dict, current: dict) -> list[str]:
    """Identity keys whose saved and current values differ, as ``key: saved -> current`` strings."""
    fs, fc, fd = flatten(saved), flatten(current), flatten(default_config().to_dict())
    # a key a config saved before it existed had its default then
    fs = {k: fs.get(k, fd.get(k)) for k in CHECKPOINT_IDENTITY_KEYS}
    def view(k):
        return _IDENTITY_VIEWS.get(k, lambda v: v)

    return [f"{k}: {fs.get(k)!r} -> {fc.get(k)!r}" for k in CHECKPOINT_IDENTITY_KEYS
            if view(k)(fs.get(k)) != view(k)(fc.get(k))]


def search_budgets(cfg) -> tuple[dict, dict]:
    """``(self-play budget, eval budget)`` as ``dict(num_simulations, max_num_considered_actions)``:
    self-play and the gate search with ``selfplay.*``; the best's anchor matches with
    ``arena.eval_simulations`` / ``eval_considered`` (0: the self-play value)."""
    sp = cfg.selfplay
    selfplay = dict(num_simulations=int(sp.num_simulations), max_num_considered_actions=int(sp.max_num_considered_actions))
    evaluation = dict(
        num_simulations=int(cfg.arena.eval_simulations) or selfplay["num_simulations"],
        max_num_considered_actions=int(cfg.arena.eval_considered) or selfplay["max_num_considered_actions"],
    )
    return selfplay, evaluation


def override(cfg: ml_collections.ConfigDict, table: dict) -> ml_collections.ConfigDict:
    """Sets (in place) every value of the nested dict ``table`` (``{"net": {"channels": 32}}``) in
    ``cfg``; a key ``cfg`` lacks raises KeyError naming it (a typo never adds a setting). Returns ``cfg``."""

    def walk(node, values, prefix):
        for k, v in values.items():
            if k not in node:
                raise KeyError(f"config.{prefix}{k} is not a setting")
            if isinstance(v, dict):
                walk(node[k], v, f"{prefix}{k}.")
            else:
                node[k] = v

    walk(cfg, table, "")
    return cfg


# RingRift's plan: 64 simulations, 16 considered actions (8 for square8 and 12 for hex8 are the
# alternatives to try), improved-policy sampling for the first 16 decisions, spatial policy head,
# 6 blocks x 64 channels; "auto" search: mctx for 2 players, max^n for 3-4.
RINGRIFT = {
    "net": {"num_blocks": 6, "channels": 64, "value_hidden": 64, "policy_head": "spatial"},
    "selfplay": {"search": "auto", "batch_size": 64, "num_steps": 128, "chunk_steps": 16, "num_simulations": 64,
                 "max_num_considered_actions": 16, "temperature_moves": 16, "holdout_slots": 4},
    "replay": {"capacity": 131072},
    "train": {"batch_size": 256, "steps_per_iteration": 100},
    # 24 games: a multiple of 2, 3 and 4
    "arena": {"num_games": 24, "vs_random_games": 24, "opening_moves": 4},
    "elo": {"heuristic_games": 24, "num_games": 24, "anchor_games": 24},
    "loop": {"num_iterations": 1000},
}

# The setting for a real run on a 2-core CPU (`make train`; BENCHMARKS.md). A 2-core CPU spends ~90%
# of search self-play in the rules: few simulations, many games.
RINGRIFT_CPU = {
    "net": {"num_blocks": 2, "channels": 32, "value_hidden": 32},
    # expert iteration (v13 in BENCHMARKS.md, issue 18): self-play searches as the evaluation player does
    # (32 simulations / 16 considered, a deterministic root) with the heuristic's evaluation mixed into
    # its leaf values (0.5 at scale 0.3), and the policy learns the move the search chose (a one-hot):
    # the first setting whose candidates beat their best on average (7 promotions in 13 iterations) and
    # whose best beat its bootstrap net 0.6675 over 400 games. The improved-policy targets of 16 / 8
    # Gumbel searches (the setting before) made the raw policy weaker and kept candidates at ~0.4
    "selfplay": {"batch_size": 128, "num_steps": 32, "chunk_steps": 16, "num_simulations": 32,
                 "max_num_considered_actions": 16, "temperature_moves": 8, "gumbel_scale": 0.0,
                 "policy_target": "chosen", "prior_value_weight": 0.5, "prior_value_scale": 0.3},
    "replay": {"capacity": 65536},
    # ~4 samples per position over its time in the buffer; after the bootstrap's steps a constant 3e-4:
    # the schedule's ~1.7e-3 there broke the bootstrap's policy head (first candidates 0.16-0.25 against
    # it, kept ones 0.40-0.45: v6 / v7), 3e-4 did not (0.47-0.53, kept 0.46-0.48: v8 / v9; BENCHMARKS.md)
    "train": {"batch_size": 256, "steps_per_iteration": 64, "selfplay_learning_rate": 3e-4},
    # bootstrap from the heuristic (~15x faster per decision than 16-simulation search on CPU): 256 x 256
    # decisions of heuristic games without search fill the buffer, 1000 train steps on them make the
    # first best (~4 min); then pure search self-play. Runs C/E mixed heuristic games into search
    # self-play instead (half at first, none by iteration 12): their nets stayed at ~0.88 vs random
    "bootstrap": {"num_steps": 256, "batch_size": 256, "train_steps": 1000},
    # 32 arena games make the LCB gate demand >= 22/32 (0.69): candidates that are better but not by
    # that much were never promoted (67 iterations with one promotion), hence the threshold gate.
    # The best is measured at twice the self-play budget (run C's final best scored 0.86 at 16/8 over
    # 200 games and 0.94 at 64/16 over 100; at 32/16, run E's 45-minute best 0.88 over 200: the
    # doubling adds little, 64 simulations are too slow for the loop)
    "arena": {"gate": "threshold", "vs_random_games": 48, "eval_simulations": 32, "eval_considered": 16},
    # the yardsticks of the learning issue, measured when a net becomes the best: the heuristic
    # (searched and raw policy; its compile is paid once and then comes from the compilation cache),
    # heuristic vs random once (places the heuristic on the Elo scale) and the bootstrap net at equal
    # search; no recent-best matches (two-net games at the eval budget cost minutes)
    "elo": {"heuristic_games": 32, "anchor_games": 32, "bootstrap_games": 32, "num_games": 0},
    "loop": {"num_iterations": 8},  # 60 min on a 2-core CPU with the bootstrap (v18: iteration 7 ended at 60.0 min)
}

# The CPU smoke test: tiny shapes, 2 iterations. No heuristic anchor (compiling the one-ply heuristic
# inside a match costs minutes on CPU); random and recent-best anchors stay.
RINGRIFT_TINY = {
    "net": {"num_blocks": 1, "channels": 8, "value_hidden": 8},
    "selfplay": {"batch_size": 4, "num_steps": 4, "chunk_steps": 4, "num_simulations": 4,
                 "max_num_considered_actions": 4, "temperature_moves": 2, "holdout_slots": 1},
    "replay": {"capacity": 256},
    "train": {"batch_size": 8, "steps_per_iteration": 2, "warmup_steps": 1},
    # smoke test: unfinished games score 0.5 and are counted as truncated
    "arena": {"opening_moves": 2, "max_moves": 40},
    "elo": {"heuristic_games": 0, "anchor_games": 0, "recent_bests": 1},
    "loop": {"num_iterations": 2},
}
RINGRIFT_VARIANTS = {"cpu": RINGRIFT_CPU, "tiny": RINGRIFT_TINY}


def ringrift_config(board: str, num_players: int, variant: str | None = None) -> ml_collections.ConfigDict:
    """The RingRift run on ``board`` (``"square8"`` / ``"hex8"``) for ``num_players`` (configs/sq8.py
    etc. call this): `RINGRIFT`, then the variant's table (``"cpu"``: `RINGRIFT_CPU`, the `make train`
    setting; ``"tiny"``: `RINGRIFT_TINY`, the smoke test; ``--config configs/sq8.py:cpu``).
    ``--config.bootstrap.num_steps=0 --config.bootstrap.train_steps=0`` runs :cpu as self-play from scratch.
    """
    if variant and variant not in RINGRIFT_VARIANTS:
        raise ValueError(f"unknown config variant {variant!r}; known: {', '.join(map(repr, RINGRIFT_VARIANTS))}")
    from jaxzero.games.ringrift.heuristic import DEFAULT_WEIGHTS
    from jaxzero.games.ringrift.presets import MAX_MOVES

    p = num_players
    c = override(default_config(), RINGRIFT)
    c.game.name = f"ringrift_{board}_{p}p"
    c.game.max_moves = MAX_MOVES[p]  # decisions; the env also truncates at this many moves
    # RingRift games run ~60-120 decisions with auto_single; games vs random can run longer
    c.arena.max_moves = MAX_MOVES[p]
    c.heuristic.weights = ml_collections.ConfigDict(dict(DEFAULT_WEIGHTS))
    if variant:
        override(c, RINGRIFT_VARIANTS[variant])
    if variant == "cpu":
        # 32 (33 for 3 players: seats rotate evenly)
        c.arena.num_games = c.elo.heuristic_games = c.elo.anchor_games = c.elo.bootstrap_games = -(-32 // p) * p
    if variant == "tiny":
        c.arena.num_games = c.arena.vs_random_games = c.elo.num_games = p
    return c
