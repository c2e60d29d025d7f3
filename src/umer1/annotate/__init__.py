"""Cold-start annotation: retrieval pairs -> UME-sft-train records with teacher-written reasoning.

Pieces: `pairs` (input readers), `templates` (teacher prompts), `teachers` (OpenAI-compatible
server or local model), `normalise` + `filters` (the paper's filters), `journal` + `runner`
(exactly-once, resumable runs), `job` (all of them from one options object: `annotate_file`,
what `umer1 annotate` calls).
"""
from umer1.annotate.filters import FilterConfig, Filters
from umer1.annotate.job import AnnotateOptions, annotate_file, resume_key
from umer1.annotate.normalise import FormatError, normalise, parse
from umer1.annotate.pairs import AnnotationPair, AnnotationSide, read_annotation_pairs
from umer1.annotate.runner import Annotator, finalise, sft_record
from umer1.annotate.teachers import HFTeacher, OpenAITeacher, TeacherError, TeacherFatal
from umer1.annotate.templates import Templates

__all__ = ["AnnotateOptions", "AnnotationPair", "AnnotationSide", "Annotator", "FilterConfig",
           "Filters", "FormatError", "HFTeacher", "OpenAITeacher", "TeacherError", "TeacherFatal",
           "Templates", "annotate_file", "finalise", "normalise", "parse", "read_annotation_pairs",
           "resume_key", "sft_record"]
