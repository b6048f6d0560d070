"""`make figures`: short real trainings of a few lessons, exported as the pictures in docs/img/.

Each lesson's own TensorBoard figure (R1's loss surface, fit curve, decision regions, MNIST predictions
with mistakes marked, noisy / denoised / clean digits) is copied out of its event file, and the scalars,
images, hparams and histograms dashboards are photographed in headless Chromium, and so are Custom
Scalars, Graphs, the Projector (V1, T1, D2) and PR Curves. The runs stay in logs/figures/ for
`make tensorboard`. MNIST lessons need MNIST (`--data-dir`, default as for `make bench`).
The concept studies run as `make study` runs them (into logs/studies/), and their figures are copied.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Any

from dashboards import (
    browser_page,
    color_projector_by,
    show_graph,
    show_projector,
    show_tags,
    tensorboard_server,
)
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lightning_lessons.config import compose
from lightning_lessons.data.mnist import local_data_dir
from lightning_lessons.studies.figures import figure_path
from lightning_lessons.studies.run import load_study, run_study
from lightning_lessons.train import train

ROOT = Path(__file__).resolve().parents[1]
T1_SOURCE = ROOT / "logs" / "figures" / "mnist_cnn" / "checkpoints" / "best.ckpt"
SHORT_MNIST = ["trainer.max_epochs=1", "+trainer.limit_train_batches=150", "data.download=false"]
FIGURES = {  # lesson: (overrides, {TensorBoard image tag: file in docs/img})
    "linear_regression_scratch": ([], {"loss_surface": "loss_surface.png"}),
    "nonlinear_regression": (["epochs=2000"], {"fit": "fit_nonlinear_regression.png"}),
    "multiclass_classification": (["epochs=1500"], {"decision_regions": "decision_regions.png"}),
    "mnist_cnn": (
        SHORT_MNIST,
        {"predictions/test": "mnist_predictions.png", "confusion_matrix/test": "mnist_confusion.png"},
    ),
    "denoise_conv": (SHORT_MNIST, {"denoising/test": "denoising.png"}),
    "transfer_fashion": (  # starts from the mnist_cnn run above; in the Projector beside it
        ["trainer.max_epochs=3", "test=false", f"model.pretrained.checkpoint={T1_SOURCE}"],
        {},
    ),
}
PROJECTIONS = [  # run, embedding, file: each coloured by label in the Projector
    ("mnist_cnn", "net.classifier.2", "tensorboard_projector.png"),
    ("transfer_fashion", "net.classifier.2", "tensorboard_projector_t1.png"),
    ("transfer_fashion", "scratch.classifier.2", "tensorboard_projector_t1_scratch.png"),
    ("denoise_conv", "net.encoder", "tensorboard_projector_d2.png"),
]
DASHBOARDS = {  # file: (dashboard, element that shows it is drawn, tag filter)
    "tensorboard_scalars.png": ("scalars", "tf-scalar-card path.line", "^(train|val)/(loss|acc|psnr)$"),
    "tensorboard_images.png": (
        "images",
        "img[src*='individualImage']",
        "^(fit|decision_regions|predictions/test)$",
    ),
    "tensorboard_hparams.png": ("hparams", "vaadin-grid-cell-content", None),
    "tensorboard_histograms.png": (
        "histograms",
        "tf-histogram-loader",
        "^(weights|gradients)/net.features.0.weight$",
    ),
}
# make study NAME=<study> with its defaults -> docs/img/study_<study>.png (optimizers_mnist: long on a CPU)
STUDIES = ["optimizers", "activations", "fitting", "losses", "save_reload", "landscape"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default=local_data_dir())
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--screenshots-only", action="store_true", help="reuse the runs in logs/figures/")
    parser.add_argument("--studies-only", action="store_true", help="only the concept studies' figures")
    args = parser.parse_args()
    logs = ROOT / "logs" / "figures"
    args.out.mkdir(parents=True, exist_ok=True)
    if args.studies_only:
        export_studies(args.out)
        return
    if not args.screenshots_only:
        shutil.rmtree(logs, ignore_errors=True)
        # A scratch data folder beside the given MNIST: T1 unpacks Fashion-MNIST into its data folder,
        # which must not be a shared copy of MNIST.
        with tempfile.TemporaryDirectory() as scratch:
            (Path(scratch) / "MNIST").symlink_to(Path(args.data_dir).resolve() / "MNIST")
            train_and_export(logs, scratch, args.out)
        export_studies(args.out)
    photograph_dashboards(logs, args.out)


def train_and_export(logs: Path, data_dir: str, out: Path) -> None:
    for lesson, (overrides, images) in FIGURES.items():
        print(f"training {lesson} ...", flush=True)
        run = logs / lesson
        train(
            compose(
                [
                    f"lesson={lesson}",
                    f"paths.output_dir={run}",
                    f"paths.data_dir={data_dir}",
                    "callbacks.progress=null",
                    *overrides,
                ]
            )
        )
        events = EventAccumulator(str(run), size_guidance={"images": 0})
        events.Reload()
        for tag, name in images.items():
            (out / name).write_bytes(events.Images(tag)[-1].encoded_image_string)
            print(f"  wrote {out / name}")


def export_studies(out: Path) -> None:
    for name in STUDIES:
        print(f"study {name} ...", flush=True)
        folder = run_study(load_study(name), ROOT / "logs", ["callbacks.progress=null"])
        shutil.copyfile(figure_path(folder), out / f"study_{name}.png")
        print(f"  wrote {out / f'study_{name}.png'}")


def photograph_dashboards(logs: Path, out: Path) -> None:
    with tensorboard_server(logs, set(FIGURES)) as base, browser_page(width=1900, height=1000) as page:
        for name, (dashboard, ready, tag_filter) in DASHBOARDS.items():
            if tag_filter:
                show_tags(page, base, dashboard, ready, tag_filter)
            else:
                page.goto(f"{base}/#{dashboard}")
                page.wait_for_selector(ready, timeout=30_000)
                page.wait_for_timeout(3000)
            page.screenshot(path=str(out / name))
            print(f"  wrote {out / name}")
        photograph_extras(page, base, out)


def photograph_extras(page: Any, base: str, out: Path) -> None:
    """Custom Scalars, the graph, the Projector (V1, T1's two networks, D2's code), PR curves."""

    def save(name: str) -> None:
        page.screenshot(path=str(out / name))
        print(f"  wrote {out / name}")

    page.goto(f"{base}/#custom_scalars")
    page.wait_for_selector("tf-custom-scalar-multi-line-chart-card path.line", timeout=30_000)
    page.wait_for_timeout(3000)
    save("tensorboard_custom_scalars.png")
    show_graph(page, base, "mnist_cnn", expand="MNISTConvNet")
    save("tensorboard_graph.png")
    for run, tensor, name in PROJECTIONS:
        frame = show_projector(page, base, run, tensor)
        color_projector_by(frame, "label")
        save(name)
    page.goto(f"{base}/#pr_curves")
    page.wait_for_selector("tf-pr-curve-card path.line", timeout=30_000)
    page.wait_for_timeout(3000)
    save("tensorboard_pr_curves.png")


if __name__ == "__main__":
    main()
