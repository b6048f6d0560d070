"""How a run is carried out and kept safe: the Trainer, checkpoints, resume, errors, and every
workaround of Lightning's internals (`workarounds.py`)."""
