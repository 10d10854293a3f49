"""Serve jaxzero's players to RingRift over its AI-service HTTP contract (`python -m jaxzero.serve`).

`models` (the contract's pydantic models), `engine` (`Mover`: RingRift JSON -> batched device
decisions -> RingRift Moves), `app` (`create_app`: the FastAPI routes and the request batcher).
"""
