"""Judges you can trust: agreement statistics, human labels, calibration runs, bias probes and stability."""
