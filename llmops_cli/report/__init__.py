"""Self-contained HTML reports of eval results and gate reports (see :mod:`llmops_cli.report.html`)."""

from .html import gate_html, results_html, word_diff

__all__ = ["gate_html", "results_html", "word_diff"]
