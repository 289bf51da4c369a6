"""Ask/tell search strategies: pymoo (nsga2, nsga3, spea2, smsemoa) and random."""

from xnas.strategy import nsga2, random  # noqa: F401  (registration)
from xnas.strategy.base import STRATEGIES, Strategy

__all__ = ["STRATEGIES", "Strategy"]
