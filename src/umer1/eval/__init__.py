"""MMEB-V2-compatible evaluation: the task registry, readers per layout, ranking and metrics,
the runner (embedding through `umer1.store`), the suite, pass@k and reports."""
from umer1.eval.loading import LoadedTasks, check_presence, load_task
from umer1.eval.metrics import mean_metrics, query_metrics
from umer1.eval.ranking import rank, rank_order
from umer1.eval.readers import TaskData
from umer1.eval.registry import TaskSpec, load_registry, resolve_tasks, select
from umer1.eval.runner import TaskResult, evaluate_task
from umer1.eval.suite import EvalOptions, evaluate, mode_pairs

__all__ = ["EvalOptions", "evaluate", "mode_pairs", "TaskResult", "evaluate_task", "TaskData",
           "TaskSpec", "LoadedTasks", "load_registry", "load_task", "check_presence",
           "resolve_tasks", "select", "query_metrics", "mean_metrics", "rank", "rank_order"]
