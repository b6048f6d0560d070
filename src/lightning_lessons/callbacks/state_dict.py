"""Saving a trained network the way the notes do: `torch.save(model.state_dict(), ...)`."""

from pathlib import Path

import lightning as L
import torch

STATE_DICT = "model.pt"
PREDICTIONS = "predictions.pt"


class SaveStateDict(L.Callback):
    """At the end of training: the network's `state_dict` to `<run>/model.pt`, and its predictions on the
    training inputs to `<run>/predictions.pt`, which the save_reload study reproduces from the file."""

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        folder = Path(trainer.default_root_dir)
        x = trainer.datamodule.splits["train"][0]
        torch.save(pl_module.net.state_dict(), folder / STATE_DICT)
        prediction = pl_module.predict(x.to(pl_module.device)).cpu()
        torch.save({"x": x.cpu(), "prediction": prediction}, folder / PREDICTIONS)
