"""Sentences built from columns: the one way churnml writes a column's values into a text.

``pl.format`` panics in Polars 2.1 ("assertion failed: i < self.len()") when its columns lie in chunks of
different lengths and one of them holds an empty chunk, which a filter after a parallel join or a concat
leaves (a language app's list: `churnml score` died with a traceback). :func:`formatted` gives the same
strings through ``pl.concat_str``, which reads such columns: every evidence, reason and note that names a
column's values goes through it.
"""

from __future__ import annotations

import polars as pl

__all__ = ["formatted"]

_SLOT = "{}"


def formatted(template: str, *args: pl.Expr | str) -> pl.Expr:
    """The text of ``template`` with each ``{}`` replaced by the next of ``args`` (an expression, or a column
    name), as ``pl.format`` writes it: a value cast to text, a null value makes the whole text null. Raises
    ValueError when the template's slots and the arguments differ in number."""
    pieces = template.split(_SLOT)
    if len(pieces) - 1 != len(args):
        raise ValueError(f"{template!r} has {len(pieces) - 1} slots for {len(args)} arguments")
    parts: list[pl.Expr] = []
    for piece, arg in zip(pieces, [*args, None], strict=True):
        if piece:
            parts.append(pl.lit(piece))
        if arg is not None:
            parts.append((pl.col(arg) if isinstance(arg, str) else arg).cast(pl.String))
    return pl.concat_str(parts) if parts else pl.lit("")
