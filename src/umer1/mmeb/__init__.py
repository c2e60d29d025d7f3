"""MMEB-V2 from its official sources to task folders `umer1 eval` reads (layer 3: engine and utils only).

- `catalog`: the one table of per-task rules (sources, splits, instructions, ranking, media folders), cited.
- `image`, `video`, `visdoc`: one converter per source family, texts built as the official loaders build them.
- `sources`: reading downloaded dataset repos (parquet / JSONL), presence checks, hub download.
- `prepare`: writes prepared/<instruction set>/<Task>/ and the registry YAML.
"""
from umer1.mmeb.catalog import INSTRUCTION_SETS, OOD_SPLITS, TASKS, Task, benchmark, instructions
from umer1.mmeb.prepare import PrepareOptions, PrepareResult, prepare, registry_name, registry_text
from umer1.mmeb.sources import fetch_command, missing_sources, source_hints

__all__ = ["INSTRUCTION_SETS", "OOD_SPLITS", "TASKS", "Task", "benchmark", "instructions", "PrepareOptions",
           "PrepareResult", "prepare", "registry_name", "registry_text", "fetch_command", "missing_sources",
           "source_hints"]
