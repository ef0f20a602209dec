"""Results table, Pareto fronts, plots and the HTML/Markdown experiment report (matplotlib only).

Example:
    >>> from nash.analysis import load_results, pareto_front, write_report   # doctest: +SKIP
    >>> rows = load_results("runs/exp1")
    >>> [rows[i]["version"] + rows[i]["bits"] for i in pareto_front(rows, "bram", "error")]
    >>> write_report("runs/exp1")   # -> runs/exp1/report/report.html
"""

from __future__ import annotations

from nash.analysis.pareto import METRICS, Metric, list_metrics, pareto_front, resolve_metric
from nash.analysis.plots import PLOTS, plot_grouped_bars, plot_pareto, write_plots
from nash.analysis.report import write_report
from nash.analysis.results import RESULT_COLUMNS, ResultsError, load_results, normalize_row, write_results
from nash.analysis.tables import latency_table, pareto_table, results_table

__all__ = [
    "RESULT_COLUMNS",
    "ResultsError",
    "normalize_row",
    "load_results",
    "write_results",
    "Metric",
    "METRICS",
    "resolve_metric",
    "list_metrics",
    "pareto_front",
    "PLOTS",
    "plot_pareto",
    "plot_grouped_bars",
    "write_plots",
    "results_table",
    "pareto_table",
    "latency_table",
    "write_report",
]
