"""MMEB-V2-compatible evaluation: task readers, metrics, cached runner, pass@k, reports."""
from umer1.eval.metrics import mean_metrics, query_metrics, rank_order
from umer1.eval.runner import Embedder, ModeSpec, TaskResult, evaluate_task
from umer1.eval.suite import EvalOptions, evaluate, mode_pairs
from umer1.eval.tasks import TaskData, TaskSpec, load_registry, load_task, resolve_tasks

__all__ = ["EvalOptions", "evaluate", "mode_pairs", "Embedder", "ModeSpec", "TaskResult",
           "evaluate_task", "TaskData", "TaskSpec", "load_registry", "load_task", "resolve_tasks",
           "query_metrics", "mean_metrics", "rank_order"]
