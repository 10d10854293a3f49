"""jaxzero: fully vectorized JAX self-play training (Gumbel MuZero) for RingRift and pgx games."""

__version__ = "0.1.0"
