"""Writing the output folder: one Hive-partitioned dataset per table, replaced row by key,
committed atomically through a journal. See docs/datasets.md."""

from pipeline.dataset.writer import DatasetWriter

__all__ = ["DatasetWriter"]
