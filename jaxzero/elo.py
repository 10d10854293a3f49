"""Bradley-Terry ratings (Elo scale) from pairwise match results, and the Elo plot.

Ratings are fitted per game key (one game name = one board and player count; `EloTable` refuses to
mix keys) from accumulated ``(a, b, score_a, games)`` results: ``score_a`` is the summed score of
``a`` (win 1, draw 0.5, loss 0) over ``games`` games. Model: ``P(a beats b) = g_a / (g_a + g_b)``,
draws counted as half a win each way. The fit is Hunter's MM iteration (no scipy): ``g_i <- W_i /
sum_j n_ij / (g_i + g_j)``. To keep ratings finite when a player won or lost every game, every
observed pairing gets ``prior`` virtual games scored 0.5 (a BayesElo-style draw prior).

**Anchor: uniform random = 0 Elo** (``ANCHOR = "random"``); ratings are ``400 log10(g / g_random)``.
Elo standard errors come from the inverse Fisher information of the log-strengths with the anchor
held fixed.

Multi-player games (3-4 seats) are scored the same way: a player's per-game score
``(rank outcome + 1) / 2`` against the field is treated as a score against the named opponent.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

ANCHOR = "random"
ELO_SCALE = 400.0 / math.log(10.0)  # Elo points per natural-log unit of strength


def fit_bradley_terry(results, anchor: str = ANCHOR, prior: float = 1.0, iters: int = 10000, tol: float = 1e-10):
    """Elo ratings ``{player: elo}`` (anchor at 0) and standard errors ``{player: se}``.

    ``results``: iterable of ``(a, b, score_a, games)``. Players not connected to the anchor through
    any results are left out (their rating would be arbitrary).
    """
    pair_games: dict = defaultdict(float)
    pair_score: dict = defaultdict(float)  # score of the lexicographically first player of the pair
    for a, b, score_a, games in results:
        if a == b or games <= 0:
            continue
        if not 0 <= score_a <= games:
            raise ValueError(f"score {score_a} of {a!r} vs {b!r} outside [0, {games}]")
        key = (a, b) if a < b else (b, a)
        pair_games[key] += games
        pair_score[key] += score_a if a < b else games - score_a
    # keep the connected component of the anchor
    adj = defaultdict(set)
    for a, b in pair_games:
        adj[a].add(b)
        adj[b].add(a)
    if anchor not in adj:
        return {}, {}
    seen, todo = {anchor}, [anchor]
    while todo:
        for q in adj[todo.pop()]:
            if q not in seen:
                seen.add(q)
                todo.append(q)
    players = sorted(seen)
    idx = {p: i for i, p in enumerate(players)}
    n = len(players)
    games = np.zeros((n, n))
    wins = np.zeros(n)
    for (a, b), g in pair_games.items():
        if a not in idx:
            continue
        i, j = idx[a], idx[b]
        s = pair_score[(a, b)] + 0.5 * prior
        g = g + prior
        games[i, j] += g
        games[j, i] += g
        wins[i] += s
        wins[j] += g - s
    gamma = np.ones(n)
    ai = idx[anchor]
    for _ in range(iters):
        denom = (games / (gamma[:, None] + gamma[None, :])).sum(axis=1)
        new = wins / denom
        new /= new[ai]
        if np.max(np.abs(np.log(new) - np.log(gamma))) < tol:
            gamma = new
            break
        gamma = new
    theta = np.log(gamma)
    # Fisher information of theta: I_ii = sum_j n_ij p_ij (1 - p_ij), I_ij = -n_ij p_ij (1 - p_ij)
    p = gamma[:, None] / (gamma[:, None] + gamma[None, :])
    w = games * p * (1 - p)
    info = np.diag(w.sum(axis=1)) - w
    keep = [i for i in range(n) if i != ai]
    se = np.zeros(n)
    if keep:
        cov = np.linalg.pinv(info[np.ix_(keep, keep)])
        se[keep] = np.sqrt(np.maximum(np.diag(cov), 0.0))
    elo = {pl: float(ELO_SCALE * theta[idx[pl]]) for pl in players}
    err = {pl: float(ELO_SCALE * se[idx[pl]]) for pl in players}
    return elo, err


def expected_score(elo_a: float, elo_b: float) -> float:
    """Bradley-Terry expected score of a against b on the Elo scale."""
    return 1.0 / (1.0 + 10.0 ** ((elo_b - elo_a) / 400.0))


class EloTable:
    """Accumulated match results of one run, keyed by game name, persisted as JSON (``elo.json``)."""

    def __init__(self, path: str | Path, game_key: str):
        self.path = Path(path)
        self.game_key = game_key
        self.results: list[list] = []  # [iteration, a, b, score_a, games]
        if self.path.exists():
            data = json.loads(self.path.read_text())
            if data.get("game") != game_key:
                raise ValueError(
                    f"{self.path} holds ratings of {data.get('game')!r}, not {game_key!r}: ratings never mix games"
                )
            self.results = [list(r) for r in data.get("results", [])]

    def trim(self, last_iteration: int) -> None:
        """Drops results recorded after ``last_iteration`` (consistency with resumed checkpoints)."""
        self.results = [r for r in self.results if r[0] <= last_iteration]

    def add(self, iteration: int, a: str, b: str, score_a: float, games: int) -> None:
        self.results.append([int(iteration), str(a), str(b), float(score_a), int(games)])

    def has_pair(self, a: str, b: str) -> bool:
        return any({r[1], r[2]} == {a, b} for r in self.results)

    def fit(self, prior: float = 1.0):
        return fit_bradley_terry([r[1:] for r in self.results], ANCHOR, prior)

    def save(self) -> None:
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"game": self.game_key, "anchor": ANCHOR, "results": self.results}))
        tmp.replace(self.path)


def read_metrics(workdir: str | Path) -> list[dict]:
    """The rows of ``<workdir>/metrics.jsonl`` (lines cut by a kill are skipped)."""
    rows = []
    path = Path(workdir) / "metrics.jsonl"
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return rows


def plot_elo(runs: dict, path: str | Path, title: str | None = None):
    """Writes an Elo-vs-iteration plot: one curve per run (``runs = {label: metrics rows}``).

    Rows without an ``elo`` value are skipped. Returns the labels of the curves drawn. Runs of
    different games must not share one plot (ratings never mix games): the caller plots per game.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    games = {r.get("game") for rows in runs.values() for r in rows if r.get("game") is not None}
    if len(games) > 1:
        raise ValueError(f"runs of different games cannot share one Elo plot: {sorted(games)}")
    fig, ax = plt.subplots(figsize=(6, 4))
    drawn = []
    for label, rows in runs.items():
        pts = [(r["iteration"], r["elo"]) for r in rows if isinstance(r.get("elo"), (int, float))]
        if not pts:
            continue
        x, y = zip(*pts)
        ax.plot(x, y, marker="o", markersize=3, label=str(label))
        drawn.append(str(label))
    ax.set_xlabel("iteration")
    ax.set_ylabel("Elo of the best net (uniform random = 0)")
    ax.set_title(title or (f"{games.pop()}" if games else "Elo"))
    ax.grid(alpha=0.3)
    if drawn:
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    tmp = Path(path).with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=80)
    plt.close(fig)
    tmp.replace(path)
    return drawn
