"""Tests against a real local SLURM cluster (make test-slurm); a package, so its conftest keeps its name."""
