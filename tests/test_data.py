import pytest
import torch

from lightning_lessons.data import SyntheticRegressionDataModule, TensorLoader


def test_full_batch_is_the_tensors_themselves():
    x, y = torch.randn(1000, 3), torch.randn(1000, 1)
    batches = list(TensorLoader([x, y]))
    assert len(batches) == 1
    assert batches[0][0] is x and batches[0][1] is y


def test_mini_batches_cover_every_row_once_and_reshuffle_per_epoch():
    x = torch.arange(10).unsqueeze(1)
    loader = TensorLoader([x, x * 2], batch_size=4, shuffle=True, seed=3)
    assert len(loader) == 3
    first = torch.cat([b[0] for b in loader]).flatten()
    assert sorted(first.tolist()) == list(range(10))
    assert all(torch.equal(b[1], b[0] * 2) for b in loader)
    again = torch.cat([b[0] for b in loader]).flatten()
    assert torch.equal(first, again), "same epoch, same order"
    loader.sampler.set_epoch(1)
    assert not torch.equal(first, torch.cat([b[0] for b in loader]).flatten())


def test_drop_last_and_mismatched_lengths():
    assert len(TensorLoader([torch.zeros(10)], batch_size=4, drop_last=True)) == 2
    with pytest.raises(ValueError, match="same length"):
        TensorLoader([torch.zeros(3), torch.zeros(4)])


def test_r2_data_follows_the_notes_and_the_seed():
    def make(seed):
        dm = SyntheticRegressionDataModule(
            function="linear",
            n_samples=1000,
            inputs="linspace",
            low=-3,
            high=3,
            weights=[1.0],
            noise="rand",
            noise_scale=1.2,
            n_val=100,
            n_test=50,
            seed=seed,
        )
        dm.setup()
        return dm

    dm = make(7)
    x, y = dm.splits["train"]
    assert torch.equal(x, torch.linspace(-3, 3, 1000).unsqueeze(1))
    noise = y - x
    assert noise.min() >= 0 and noise.max() <= 1.2 and abs(noise.mean().item() - 0.6) < 0.05
    assert [len(dm.splits[s][0]) for s in ("train", "val", "test")] == [1000, 100, 50]
    assert dm.target_parameters == {"weight": 1.0, "bias": pytest.approx(0.6)}
    assert all(torch.equal(a, b) for a, b in zip(dm.splits["val"], make(7).splits["val"], strict=True))
    assert not torch.equal(dm.splits["val"][1], make(8).splits["val"][1])


def test_given_points_have_the_least_squares_line_as_target():
    dm = SyntheticRegressionDataModule(x=[0.0, 1.0, 2.0], y=[1.0, 3.0, 5.0])
    assert dm.has_split("train") and not dm.has_split("val")
    assert dm.target_parameters == {"weight": pytest.approx(2.0), "bias": pytest.approx(1.0)}


def test_multifeature_and_random_shapes():
    dm = SyntheticRegressionDataModule(function="linear", n_features=3, weights=[1.1, 2.2, 3.3])
    dm.setup()
    assert dm.splits["train"][0].shape == (100, 3) and list(dm.target_parameters) == [
        "weight[0]",
        "weight[1]",
        "weight[2]",
        "bias",
    ]
    dm = SyntheticRegressionDataModule(function="random", n_samples=100, n_features=1000, n_outputs=10)
    dm.setup()
    assert [t.shape for t in dm.splits["train"]] == [(100, 1000), (100, 10)]
    assert dm.target_parameters is None


def test_bad_data_settings_are_refused():
    with pytest.raises(ValueError, match="n_features"):
        SyntheticRegressionDataModule(function="linear", n_features=2, weights=[1.0])
    with pytest.raises(ValueError, match="together"):
        SyntheticRegressionDataModule(x=[1.0, 2.0])
