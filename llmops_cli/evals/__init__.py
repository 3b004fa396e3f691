"""Evaluation engine: run prompts over their golden sets, score outputs with assertions and judges.

Entry points: :func:`llmops_cli.evals.runner.run_eval` (run: :mod:`.plan`, :mod:`.execute`, then the results
file), :func:`llmops_cli.evals.results.merge_results` (join shards), :func:`llmops_cli.evals.results.load_results`
(read a results file into the typed :class:`llmops_cli.records.results.EvalResults`). Importing this package
loads neither litellm nor rich: litellm is imported on the first provider call that the cache cannot answer.
"""

from __future__ import annotations
