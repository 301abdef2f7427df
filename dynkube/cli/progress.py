"""``[done/total]`` progress on a terminal's stderr, for commands over many objects."""

from __future__ import annotations

from .context import Context

PROGRESS_FROM = 5  # objects in a run from which a terminal gets a progress line


class Progress:
    """``[done/total]`` on a terminal's stderr while many objects are applied; nothing otherwise."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.enabled = hasattr(ctx.err, "isatty") and ctx.err.isatty()
        self.shown = False

    def show(self, done: int, total: int, what: str = "applying") -> None:
        if self.enabled and total >= PROGRESS_FROM and done < total:
            self.ctx.err.write(f"\r[{done}/{total}] {what}\x1b[K")
            self.ctx.err.flush()
            self.shown = True

    def stage(self, stage: str, done: int, total: int) -> None:
        """CRDs sent (``applying``) or Established (``waiting``) so far, before their results are shown."""
        self.show(done, total, "CRDs applied" if stage == "applying" else "CRDs established")

    def clear(self) -> None:
        if self.shown:
            self.ctx.err.write("\r\x1b[K")
            self.ctx.err.flush()
            self.shown = False
