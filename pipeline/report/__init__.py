"""The HTML report and the SQL views over a bkjob-export dataset.

render_report(data_dir, html=None, *, title=None, since=None, until=None, biz=None,
              job=None, api_timezone=None) -> Path
    DATA_DIR's datasets -> DuckDB views (sql/views.sql) -> sql/metrics/*.sql -> one
    self-contained HTML file: the nightly report (default DATA_DIR/report.html), or with
    ``since`` the incident view of one window (sql/window.sql, sql/incident/*.sql).
views_sql(data_dir) -> str
    sql/views.sql filled in for the dataset in DATA_DIR, to paste into DuckDB.
"""

from pipeline.report.dataset import views_sql
from pipeline.report.render import render_report

__all__ = ["render_report", "views_sql"]
