"""The one way results are printed as text: rows of cells in aligned columns."""

from collections.abc import Collection, Sequence


def aligned(
    rows: Sequence[Sequence[str]],
    right: Collection[int] = (),
    gap: str = "  ",
    indent: str = "",
    widths: Sequence[int] = (),
) -> list[str]:
    """Rows of equal length. Each column as wide as its widest cell (or `widths`, if wider); the
    columns in `right` (by index) aligned right, the others left; no trailing spaces."""
    width = [max(len(cell) for cell in column) for column in zip(*rows, strict=True)]
    width = [max(w, widths[i] if i < len(widths) else 0) for i, w in enumerate(width)]
    return [
        (
            indent
            + gap.join(
                cell.rjust(w) if i in right else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, width, strict=True))
            )
        ).rstrip()
        for row in rows
    ]
