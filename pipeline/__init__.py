"""bkjob-export: BlueKing JOB step and host results as Parquet/CSV datasets and an HTML report."""

__version__ = "0.1.0"
