import torch
from torch import nn

from lightning_lessons.models import GradientDescent, ManualRegressionModule
from lightning_lessons.nets import MLP, ScratchLinear, TwoLayerNet, scalar_parameters


def test_hand_written_gradients_equal_autograd():
    torch.manual_seed(0)
    net = TwoLayerNet(1000, 100, 10)
    x, y = torch.randn(100, 1000), torch.randn(100, 10)
    loss, manual = net.manual_gradients(x, y)
    auto_loss = (net(x) - y).pow(2).sum()
    auto_loss.backward()
    assert torch.allclose(loss, auto_loss)
    for name, param in net.named_parameters():
        assert torch.allclose(manual[name], param.grad, rtol=1e-5, atol=1e-3), name


def test_hand_written_gradients_need_the_summed_loss():
    import pytest

    with pytest.raises(ValueError, match="reduction=sum"):
        ManualRegressionModule(TwoLayerNet(4, 3, 2), GradientDescent(lr=0.1), gradients="manual")
    with pytest.raises(ValueError, match="no hand-written gradients"):
        ManualRegressionModule(
            ScratchLinear(2), GradientDescent(lr=0.1), loss=nn.MSELoss(reduction="sum"), gradients="manual"
        )


def test_mlp_is_the_notes_architecture():
    net = MLP(1, [20], 1)
    assert [type(m) for m in net] == [nn.Linear, nn.ReLU, nn.Linear]
    assert (net[0].in_features, net[0].out_features, net[2].out_features) == (1, 20, 1)
    assert len(MLP(1000, [100], 10)) == 3 and MLP(2, [], 3)[0].out_features == 3


def test_scalar_parameters_names_line_up_with_data_targets():
    assert set(scalar_parameters(nn.Linear(1, 1))) == {"weight", "bias"}
    assert list(scalar_parameters(ScratchLinear(3))) == ["weight[0]", "weight[1]", "weight[2]", "bias"]
    assert scalar_parameters(MLP(1000, [100], 10)) == {}
