"""Task and result types; they live in the dependency-free ``xnas.results``."""

from xnas.results import EvalResult, EvalTask, Status, StopRule, failed_result, reused_result

__all__ = ["EvalResult", "EvalTask", "Status", "StopRule", "failed_result", "reused_result"]
