"""What the console's report pages share: the workbook's content type and the one lock around
pyplot (it keeps global state, so one chart is drawn at a time across the worker threads)."""

from __future__ import annotations

import threading

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHART_LOCK = threading.Lock()
