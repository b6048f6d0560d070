"""`make lessons`: every lesson with its one-line description and the defaults it runs with."""

from __future__ import annotations

from omegaconf import DictConfig

from lightning_lessons.config import CONF_DIR, compose


def lesson_names() -> list[str]:
    return sorted(path.stem for path in (CONF_DIR / "lesson").glob("*.yaml"))


def defaults_text(cfg: DictConfig) -> str:
    """The settings that define a lesson at a glance: epochs, batch, optimizer and learning rate."""
    model = cfg.model
    if "optimizer" in model:
        optimizer = f"{model.optimizer._target_.rsplit('.', 1)[-1]}(lr={model.optimizer.lr:g})"
    else:
        optimizer = f"w -= {model.lr:g} * grad"
    batch = cfg.data.get("batch_size") or "full"
    return f"{cfg.trainer.max_epochs} epochs, batch {batch}, {optimizer}"


def main() -> None:
    default = compose().lesson_name
    rows = []
    for name in lesson_names():
        cfg = compose([f"lesson={name}"])
        rows.append((name + (" *" if name == default else ""), cfg.description, defaults_text(cfg)))
    width = max(len(row[0]) for row in rows)
    for name, description, defaults in rows:
        print(f"{name:<{width}}  {description}\n{'':<{width}}  defaults: {defaults}")
    print('\n* the default.  Run one: make train LESSON=<name> [ARGS="key=value ..."]')


if __name__ == "__main__":
    main()
