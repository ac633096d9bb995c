"""The HTML report and the SQL views over a bkjob-export dataset.

render_report(data_dir, html=None, *, title=None) -> Path
    DATA_DIR's datasets -> DuckDB views (sql/views.sql) -> sql/metrics/*.sql -> one
    self-contained HTML file (default DATA_DIR/report.html).
views_sql(data_dir) -> str
    sql/views.sql filled in for the dataset in DATA_DIR, to paste into DuckDB.
"""

from pipeline.report.dataset import views_sql
from pipeline.report.render import render_report

__all__ = ["render_report", "views_sql"]
