"""The one exception type for input a user can fix, and its one-line rendering."""
from __future__ import annotations


class InputError(ValueError):
    """Bad user input: carries where it is (file, row, field) so the message can point at it.

    Rows are 1-based, as an editor shows them. `kind` is an optional machine-readable class
    of the problem (e.g. "image_too_large", "invalid_image") for callers that map errors to
    codes, such as the server.
    """

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 field: str | None = None, kind: str | None = None):
        self.message = message
        self.file = file
        self.row = row
        self.field = field
        self.kind = kind
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field:
            where.append(f"field '{self.field}'")
        text = " ".join(self.message.split())  # never more than one line
        return f"{', '.join(where)}: {text}" if where else text

    def located(self, *, file: str | None = None, row: int | None = None,
                field: str | None = None) -> "InputError":
        """The same error with missing location parts filled in by an outer caller."""
        return InputError(self.message, file=self.file or file,
                          row=self.row if self.row is not None else row,
                          field=self.field or field, kind=self.kind)
