"""Click parameter types shared by the commands: hidden sizes, batch size, positive numbers."""

from __future__ import annotations

from typing import Any

import click


class HiddenSizes(click.ParamType):
    """'10' or '256,128' → (256, 128); '' or 'none' → () (no hidden layer)."""

    name = "SIZES"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[int, ...]:
        if isinstance(value, tuple):
            return value
        text = str(value).strip()
        if text.lower() in ("", "none"):
            return ()
        try:
            sizes = tuple(int(part) for part in text.split(","))
        except ValueError:
            self.fail(f"hidden sizes must be integers separated by commas, like 256,128; got {value!r}", param, ctx)
        if any(s < 1 for s in sizes):
            self.fail(f"hidden sizes must be ≥ 1; got {value!r}", param, ctx)
        return sizes


class BatchSize(click.ParamType):
    """A positive integer, or 'full' (→ None: the whole training set in one batch)."""

    name = "INT|full"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | None:
        if value is None or (isinstance(value, str) and value.lower() == "full"):
            return None
        try:
            size = int(value)
        except (TypeError, ValueError):
            self.fail(f"batch size must be a positive integer or 'full'; got {value!r}", param, ctx)
        if size < 1:
            self.fail(f"batch size must be ≥ 1 (1 is online SGD) or 'full'; got {value!r}", param, ctx)
        return size


HIDDEN = HiddenSizes()
BATCH = BatchSize()
POSITIVE = click.FloatRange(min=0, min_open=True)
NONNEG = click.FloatRange(min=0)
