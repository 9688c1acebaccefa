"""What a run adds up to: the EMA weights it ships move by (1 - ema_rate) of each step, and its model card sums the
device-minutes of every run and process (a card that understated them, or EMA weights that were the raw last step,
passed every other test)."""
from __future__ import annotations

import torch

from train_fixtures import cache, tiny  # noqa: F401
from trm_viz.model.config import TRMConfig
from trm_viz.train.card import add_run, new_card
from trm_viz.train.data import load_task_data
from trm_viz.train.loop import Trainer


def test_the_ema_moves_by_one_minus_its_rate(cache):  # noqa: F811
    tcfg, mcfg = tiny(cache, ema_rate="0.75")       # not 0.5, where rate and 1 - rate are one number
    trainer = Trainer(tcfg, mcfg, load_task_data(tcfg, torch.device("cpu")), torch.device("cpu"))
    before = {n: t.clone() for n, t in trainer.ema.items()}
    trainer.step = 100                               # past the warm-up min(rate, (1 + t) / (10 + t)): the rate is 0.75
    for p in trainer.model.parameters():
        p.data.add_(1.0)
    trainer._ema_update()
    params = dict(trainer.model.named_parameters())
    for n, t in trainer.ema.items():
        torch.testing.assert_close(t, 0.75 * before[n] + 0.25 * params[n].detach().float())


def test_the_card_adds_device_minutes_over_runs_and_processes():
    card, cfg = new_card("sudoku"), TRMConfig(task="sudoku", vocab_size=11, seq_len=81)
    for start, end, minutes in ((0, 10, 3.0), (10, 15, 1.5)):      # two runs of 2 processes each
        add_run(card, device=torch.device("cpu"), processes=2, steps_start=start, steps_end=end, minutes=minutes,
                data_info={}, train_config={}, model_config=cfg, eval_result=None, last_train=None, params=1)
    assert card["cpu_minutes"] == 9.0 and [r["cpu_minutes"] for r in card["runs"]] == [6.0, 3.0]
    assert card["total_steps"] == 15 and card["gpu_minutes"] == 0
