"""Objectives: one module each; every objective declares name, sense and stage."""

from xnas.objectives.complexity import count_flops, count_params

__all__ = ["count_flops", "count_params"]
