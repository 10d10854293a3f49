"""Parity with RingRift's reference engine, on the host: the trace notation (`notation`: digests
and move strings), reading trace files (`traces`), the lockstep replay harness (`replay`,
scripts/parity.py) and RingRift's JSON GameState / Move (`interop`). Nothing here is jitted
or used by the engine itself.
"""
