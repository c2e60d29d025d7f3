"""Cold-start annotation: retrieval pairs -> UME-sft-train records with teacher-written reasoning.

Pieces: `pairs` (input readers), `templates` (teacher prompts), `teachers` (OpenAI-compatible
server or local model), `normalise` + `filters` (the paper's filters), `journal` + `runner`
(exactly-once, resumable runs). `umer1 annotate` puts them together.
"""
from umer1.annotate.filters import FilterConfig, Filters
from umer1.annotate.normalise import FormatError, normalise, parse
from umer1.annotate.pairs import Pair, Side, read_pairs
from umer1.annotate.runner import Annotator, finalise, sft_record
from umer1.annotate.teachers import HFTeacher, OpenAITeacher, TeacherError, TeacherFatal
from umer1.annotate.templates import Templates

__all__ = ["Annotator", "FilterConfig", "Filters", "FormatError", "HFTeacher", "OpenAITeacher",
           "Pair", "Side", "TeacherError", "TeacherFatal", "Templates", "finalise", "normalise",
           "parse", "read_pairs", "sft_record"]
