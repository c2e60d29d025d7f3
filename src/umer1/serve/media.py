"""The search page's media folder: corpus images shown as thumbnails, and nothing else.

Only image files inside the folder are served. A requested path is refused when it is
absolute, has a `..` part, or resolves (symlinks followed) outside the folder, so a client can
never read another file of the server's machine through it.
"""
from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import quote

from umer1.utils.errors import InputError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp"}
MEDIA_ROUTE = "/search/media/"


class MediaDir:
    def __init__(self, root: str | Path):
        root = Path(root)
        if not root.is_dir():
            raise InputError("not a directory", file=str(root), field="--search-media")
        self.root = root.resolve()

    def resolve(self, rel: str) -> Path | None:
        """The file a request names, or None when it is not an image inside the folder."""
        if not rel or "\\" in rel or "\0" in rel:
            return None
        parts = PurePosixPath(rel)
        if parts.is_absolute() or ".." in parts.parts:
            return None
        return self._inside(self.root / parts)

    def url_for(self, image) -> str | None:
        """The thumbnail URL of a hit's image path (relative to the folder, or absolute inside
        it); None when the image is not a file in the folder."""
        if not isinstance(image, str) or not image or "\0" in image:
            return None
        path = Path(image)
        found = self._inside(path if path.is_absolute() else self.root / path)
        if found is None:
            return None
        return MEDIA_ROUTE + quote(found.relative_to(self.root).as_posix())

    def _inside(self, path: Path) -> Path | None:
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):       # missing, or a symlink loop
            return None
        if not real.is_relative_to(self.root) or not real.is_file():
            return None
        return real if real.suffix.lower() in IMAGE_SUFFIXES else None
