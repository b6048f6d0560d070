"""The notes' concepts as ready-made experiments: `python -m lightning_lessons.studies <name>`."""
