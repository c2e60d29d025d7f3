"""Teacher prompt templates: text files with `{text}`, `{visuals}` and `{role}` placeholders.

The defaults live in `umer1/resources/annotate/` (one for the query side, one for the target
side); a user's file replaces them. Only the three names are substituted, so other braces in a
template (JSON examples, say) are left alone.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from umer1.annotate.pairs import AnnotationSide
from umer1.utils.errors import InputError


def _default(name: str) -> str:
    return resources.files("umer1").joinpath("resources", "annotate", name).read_text("utf-8")


def _read(path: str | Path, option: str) -> str:
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the template: {exc}", file=str(path), field=option) from None
    if "{text}" not in text:
        raise InputError("the template has no {text} placeholder", file=str(path), field=option)
    return text


def describe_visuals(side: AnnotationSide, video_frames: int) -> str:
    """How the attached visuals are announced in the prompt (videos are sent as frames)."""
    parts = []
    if side.images:
        parts.append("an image" if len(side.images) == 1 else f"{len(side.images)} images")
    if side.video:
        n = min(len(side.video), video_frames) if video_frames > 0 else len(side.video)
        parts.append(f"a video given as {n} frames in time order")
    return " and ".join(parts) if parts else "no image"


@dataclass
class Templates:
    query: str
    target: str

    @classmethod
    def load(cls, template: str | Path | None = None,
             target_template: str | Path | None = None) -> "Templates":
        """Defaults, `template` for both sides, `target_template` for the target side only."""
        query = _read(template, "--template") if template else _default("query.txt")
        if target_template:
            target = _read(target_template, "--target-template")
        else:
            target = query if template else _default("target.txt")
        return cls(query, target)

    def render(self, side_name: str, side: AnnotationSide, video_frames: int = 8) -> str:
        """The prompt for one side; `side_name` ("query" or "target") is also its {role}."""
        text = self.query if side_name == "query" else self.target
        return (text.replace("{visuals}", describe_visuals(side, video_frames))
                .replace("{role}", side_name)
                .replace("{text}", side.text.strip() or "(no text)")).strip()

    def digest(self) -> str:
        """Identifies the templates in the journal header (a resumed run must use the same)."""
        return hashlib.sha1((self.query + "\0" + self.target).encode()).hexdigest()[:16]
