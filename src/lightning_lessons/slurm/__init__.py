"""SLURM: a job requeued at its time limit (`requeue`), and a sweep's view of its jobs (`states`)."""
