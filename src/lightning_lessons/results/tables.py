"""The one way results are printed as text: rows of cells in aligned columns."""

from __future__ import annotations

from collections.abc import Collection, Sequence


def aligned(
    rows: Sequence[Sequence[str]],
    right: Collection[int] = (),
    gap: str = "  ",
    indent: str = "",
    widths: Sequence[int] = (),
) -> list[str]:
    """Each column as wide as its widest cell (or `widths`, if wider); the columns in `right` (by index)
    aligned right, the others left; no trailing spaces."""
    columns = max(len(row) for row in rows)
    full = [[*row, *[""] * (columns - len(row))] for row in rows]
    width = [max(len(row[i]) for row in full) for i in range(columns)]
    width = [max(w, widths[i] if i < len(widths) else 0) for i, w in enumerate(width)]
    return [
        (
            indent
            + gap.join(
                cell.rjust(w) if i in right else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, width, strict=True))
            )
        ).rstrip()
        for row in full
    ]
