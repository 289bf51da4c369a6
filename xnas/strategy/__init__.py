"""Ask/tell search strategies: pymoo (nsga2, nsga3, spea2, smsemoa), deap-nsga2, regevo, random."""

from xnas.strategy import deap_nsga2, nsga2, random, regevo, surrogate  # noqa: F401
from xnas.strategy.base import STRATEGIES, Strategy

__all__ = ["STRATEGIES", "Strategy"]
