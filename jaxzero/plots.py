"""A run at a glance: `plot_run(workdir)` draws ``<workdir>/plots.png`` from its ``metrics.jsonl``.

Panels (each drawn from whatever keys the rows have; a panel with no data says so):

* losses: ``loss/policy``, ``loss/value`` (training) and ``heldout/loss_policy``, ``heldout/loss_value``;
* policy accuracy: ``policy_accuracy`` (held-out top-1 agreement with the search's policy);
* scores with their 95% intervals: ``vs_random``, ``vs_heuristic`` (searched) and
  ``vs_heuristic_raw_policy``, ``vs_bootstrap`` (the best vs the heuristic-bootstrapped first best),
  ``arena`` (candidate vs best), ``vs_best/<name>``, ``heuristic_vs_random``;
* Elo of the best net (``elo`` ± ``elo/se``, uniform random = 0);
* throughput: games and positions per hour of the iteration's wall time (self-play + training +
  arena seconds).

matplotlib with the Agg backend; nothing here needs jax.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

SCORE_KEYS = ("vs_random", "vs_heuristic", "vs_heuristic_raw_policy", "vs_bootstrap", "arena", "heuristic_vs_random")
LOSS_KEYS = ("loss/policy", "loss/value", "heldout/loss_policy", "heldout/loss_value")
SECONDS_KEYS = ("selfplay_seconds", "train_seconds", "arena_seconds")


def read_rows(workdir) -> list[dict]:
    """The rows of ``<workdir>/metrics.jsonl``; lines cut by a kill are skipped."""
    path = Path(workdir) / "metrics.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: {workdir} is not a training workdir with metrics")
    rows = []
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and isinstance(row.get("iteration"), int):
            rows.append(row)
    return rows


def _num(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def series(rows: list[dict], key: str) -> tuple[list[int], list[float]]:
    """(iterations, values) of the rows where ``key`` is a finite number."""
    pts = [(r["iteration"], _num(r.get(key))) for r in rows]
    pts = [(i, v) for i, v in pts if v is not None]
    return [i for i, _ in pts], [v for _, v in pts]


def score_keys(rows: list[dict]) -> list[str]:
    """The score prefixes present in the rows: `SCORE_KEYS` first, then ``vs_best/<name>`` ones."""
    present = {k[: -len("/score")] for r in rows for k in r if k.endswith("/score") and _num(r[k]) is not None}
    fixed = [k for k in SCORE_KEYS if k in present]
    return fixed + sorted(k for k in present if k.startswith("vs_best/"))


def throughput(rows: list[dict]) -> tuple[list[int], list[float], list[float]]:
    """(iterations, games per hour, positions per hour) over each iteration's `SECONDS_KEYS`."""
    its, games, positions = [], [], []
    for r in rows:
        secs = sum(_num(r.get(k)) or 0.0 for k in SECONDS_KEYS)
        g, p = _num(r.get("games")), _num(r.get("positions"))
        if secs > 0 and g is not None and p is not None:
            its.append(r["iteration"])
            games.append(3600.0 * g / secs)
            positions.append(3600.0 * p / secs)
    return its, games, positions


def plot_run(workdir, path=None) -> Path:
    """Draws the run's panels into ``path`` (default ``<workdir>/plots.png``) and returns it.
    FileNotFoundError when the workdir has no metrics.jsonl; ValueError when it has no rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workdir = Path(workdir)
    rows = read_rows(workdir)
    if not rows:
        raise ValueError(f"{workdir / 'metrics.jsonl'} has no complete rows to plot")
    path = Path(path) if path is not None else workdir / "plots.png"
    game = next((r["game"] for r in rows if r.get("game")), workdir.name)
    fig, axes = plt.subplots(2, 3, figsize=(15, 8))
    (ax_loss, ax_acc, ax_score), (ax_elo, ax_games, ax_pos) = axes

    def empty(ax, what):
        ax.text(0.5, 0.5, f"no {what} in metrics.jsonl", ha="center", va="center", transform=ax.transAxes,
                color="#888888")

    drawn = False
    for key in LOSS_KEYS:
        x, y = series(rows, key)
        if x:
            ax_loss.plot(x, y, marker="o", markersize=3, label=key, linestyle="--" if "heldout" in key else "-")
            drawn = True
    ax_loss.set_title("losses")
    ax_loss.legend(fontsize=8) if drawn else empty(ax_loss, "losses")

    x, y = series(rows, "policy_accuracy")
    if x:
        ax_acc.plot(x, y, marker="o", markersize=3)
    else:
        empty(ax_acc, "policy_accuracy")
    ax_acc.set_title("held-out policy accuracy (top-1)")

    keys = score_keys(rows)
    for key in keys:
        x, y = series(rows, f"{key}/score")
        line, = ax_score.plot(x, y, marker="o", markersize=3, label=key)
        measured = set(x)
        lo_rows = [(r["iteration"], _num(r.get(f"{key}/ci_low")), _num(r.get(f"{key}/ci_high"))) for r in rows]
        band = [(i, lo, hi) for i, lo, hi in lo_rows if i in measured and lo is not None and hi is not None]
        if band:
            ax_score.fill_between([b[0] for b in band], [b[1] for b in band], [b[2] for b in band],
                                  color=line.get_color(), alpha=0.15)
    ax_score.axhline(0.5, color="#999999", linewidth=0.8)
    ax_score.set_ylim(-0.02, 1.02)
    ax_score.set_title("scores (95% intervals shaded)")
    ax_score.legend(fontsize=8) if keys else empty(ax_score, "scores")

    x, y = series(rows, "elo")
    if x:
        se = [(_num(r.get("elo/se")) or 0.0) for r in rows if _num(r.get("elo")) is not None]
        ax_elo.errorbar(x, y, yerr=se, marker="o", markersize=3, capsize=2)
    else:
        empty(ax_elo, "elo")
    ax_elo.set_title("Elo of the best net (uniform random = 0)")

    its, games, positions = throughput(rows)
    for ax, values, what in ((ax_games, games, "games"), (ax_pos, positions, "positions")):
        if its:
            ax.plot(its, values, marker="o", markersize=3)
        else:
            empty(ax, f"{what} / seconds")
        ax.set_title(f"self-play {what} per hour of iteration time")
    for ax in axes.flat:
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{game}: {workdir}")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
