"""Helpers shared by several test modules (toy games, models, positions)."""

from __future__ import annotations
