"""Ask/tell search strategies: pymoo's nsga2, nsga3, spea2 and smsemoa; nsga2-sbx (XNAS's
integer SBX/PM operators); deap-nsga2; regevo and regevo-ws (aging evolution, Pareto or
weighted-sum selection); surrogate-nsga2 (model-filtered proposals); random."""

from xnas.strategy import deap_nsga2, nsga2, random, regevo, surrogate  # noqa: F401
from xnas.strategy.base import STRATEGIES, Strategy

__all__ = ["STRATEGIES", "Strategy"]
