"""``--format delta``: OUT's tables as Delta Lake tables (the ``deltalake`` package), merged
on each table's key so that re-runs and concurrent writers never duplicate a row.
See docs/scale.md. ``deltalake`` is imported only by the modules that need it
(:mod:`pipeline.delta.tables`, :mod:`pipeline.delta.writer`), so the rest of the tool works
without it."""
