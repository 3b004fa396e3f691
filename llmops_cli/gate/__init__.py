"""PR gate: paired, cluster-aware comparison of evaluation results between two prompt versions."""
