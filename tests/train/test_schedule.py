"""The learning-rate schedule the loop builds (transformers.get_scheduler): warm-up, decay, end point."""

from __future__ import annotations

import math

import pytest
import torch

from codemix.spec import TrainConfig
from codemix.train.loop import build_scheduler


def lrs(total: int, **cfg) -> list[float]:
    """The learning rate used by each of ``total`` optimizer steps, then the one after the last."""
    train = TrainConfig(lr=1.0, **cfg)
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=train.lr)
    scheduler = build_scheduler(optimizer, train, total)
    out = []
    for _ in range(total + 1):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return out


@pytest.mark.parametrize("kind", ["cosine", "linear", "constant"])
def test_warmup_rises_linearly_from_zero_over_ceil_ratio_steps(kind):
    lr = lrs(100, lr_scheduler=kind, warmup_ratio=0.03)  # ceil(3.0) = 3 warm-up steps, as in the HF Trainer
    assert lr[:4] == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])
    lr = lrs(100, lr_scheduler=kind, warmup_ratio=0.021)  # ceil(2.1) = 3, not round(2.1) = 2
    assert lr[:4] == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])


def test_decay_after_warmup():
    cosine = lrs(104, lr_scheduler="cosine", warmup_ratio=0.03)  # 4 warm-up steps, 100 decay steps
    linear = lrs(104, lr_scheduler="linear", warmup_ratio=0.03)
    constant = lrs(104, lr_scheduler="constant", warmup_ratio=0.03)
    assert cosine[54] == pytest.approx(0.5) and linear[54] == pytest.approx(0.5)  # half way down
    assert cosine[29] == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))  # a quarter: cosine is still high
    assert linear[29] == pytest.approx(0.75)
    assert cosine[104] == pytest.approx(0.0, abs=1e-12) and linear[104] == 0.0  # zero after the last step
    assert all(a >= b for a, b in zip(cosine[4:], cosine[5:]))
    assert set(constant[4:]) == {1.0}


def test_no_warmup_starts_at_the_full_rate():
    assert lrs(10, lr_scheduler="linear", warmup_ratio=0.0)[:2] == pytest.approx([1.0, 0.9])
