"""`make lessons`: every lesson with its code, one-line description and the defaults it runs with."""

from omegaconf import DictConfig

from lightning_lessons.config import CONF_DIR, compose
from lightning_lessons.results.tables import aligned


def lesson_names() -> list[str]:
    return sorted(path.stem for path in (CONF_DIR / "lesson").glob("*.yaml"))


def defaults_text(cfg: DictConfig) -> str:
    """The settings that define a lesson at a glance: epochs, batch, optimizer and learning rate."""
    optimizer = cfg.model.optimizer
    name = optimizer._target_.rsplit(".", 1)[-1]
    update = f"w -= {optimizer.lr:g} * grad" if name == "GradientDescent" else f"{name}(lr={optimizer.lr:g})"
    if cfg.data.get("batch_size") is None:
        return f"{cfg.epochs} epochs of one full-batch step, {update}"
    return f"{cfg.epochs} epochs, batch {cfg.data.batch_size}, {update}"


def lessons_text() -> str:
    """Two lines a lesson, in the notes' order of codes: code, name and description; its defaults."""
    default = compose().lesson_name
    configs = [compose([f"lesson={name}"]) for name in lesson_names()]
    rows = []
    for cfg in sorted(configs, key=lambda cfg: ("RCVDT".index(cfg.code[0]), cfg.code)):
        name = cfg.lesson_name + (" *" if cfg.lesson_name == default else "")
        rows += [(cfg.code, name, cfg.description), ("", "", f"defaults: {defaults_text(cfg)}")]
    return "\n".join(aligned(rows))


def main() -> None:
    print(lessons_text())
    print('\n* the default.  Run one: make train LESSON=<name> [ARGS="key=value ..."]')


if __name__ == "__main__":
    main()
