"""What a run leaves behind and how it is read back: the run folder, metrics.json, run info, sweep
tables and reports, printed with one table formatter."""
