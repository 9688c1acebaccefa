"""The training benchmark (python -m trm_viz.train.bench): a row of ms/step and TFLOP/s per mode, and the choice of
the fastest mode that a GPU session then trains in (scripts/gpu_session.sh)."""
from __future__ import annotations

import json

import pytest

from trm_viz.train import bench
from train_fixtures import TINY, cache, one_thread  # noqa: F401  (fixtures; pytest puts tests/ on sys.path)


def test_bench_prints_one_json_row_per_mode_and_pick_reads_them_back(tmp_path, capsys, cache):
    args = ["--task", "sudoku", "--modes", "off,off/float32", "--steps", "1", "--warmup", "0", "--device", "cpu"]
    for k, v in {**TINY, "data_dir": cache}.items():
        args += ["--set", f"{k}={v}"]
    bench.main(args)
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [(r["compile"], r["dtype"]) for r in rows] == [("off", "float32"), ("off", "float32")]
    assert all(r["ms_per_step"] > 0 and r["tflops_per_step"] > 0 and r["batch"] == 32 for r in rows)
    log = tmp_path / "bench.log"
    log.write_text("\n".join(json.dumps(r) for r in rows))
    bench.main(["--pick", str(log)])
    assert capsys.readouterr().out.split() == ["--set", "compile=off", "--set", "dtype=float32",
                                               "--set", "fused_mlp_t=false"]


def test_the_fastest_mode_skips_failures_and_a_fused_kernel_that_disagrees():
    rows = [{"compile": "off", "dtype": "bfloat16", "ms_per_step": 334.8},
            {"compile": "step", "error": "PassManager::run failed"},
            {"compile": "net", "dtype": "bfloat16", "ms_per_step": 90.0,
             "fused_mlp_t": "on, max relative difference to the plain path 4.10e-01"},     # wrong: not picked
            {"compile": "net", "dtype": "bfloat16", "ms_per_step": 120.0,
             "fused_mlp_t": "off (needs CUDA and Triton)"},                                # did not apply
            {"compile": "step", "dtype": "bfloat16-pure", "ms_per_step": 100.0},
            {"compile": "net", "dtype": "bfloat16", "ms_per_step": 110.0,
             "fused_mlp_t": "on, max relative difference to the plain path 1.20e-02"}]
    lines = ["sudoku: hidden 512 ...", *map(json.dumps, rows), "profile of 3 steps:", "  aten::mm  12.5%"]
    assert bench.fastest_mode(lines)["ms_per_step"] == 100.0
    assert bench.mode_arguments(bench.fastest_mode(lines)) == [
        "--set", "compile=step", "--set", "dtype=bfloat16-pure", "--set", "fused_mlp_t=false"]
    assert bench.mode_arguments(rows[-1])[-1] == "fused_mlp_t=true"
    assert bench.fastest_mode(lines[:3]) == rows[0] and bench.fastest_mode(["bench failed"]) is None


def test_pick_of_a_missing_log_is_one_line(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--pick", "/nonexistent/bench.log"])
    assert "--pick: cannot read /nonexistent/bench.log" in capsys.readouterr().err


def test_the_inference_benchmark_times_your_own_checkpoint_folder(tmp_path, capsys):
    """python -m trm_viz.bench --configs PATH: a researcher's own checkpoint, timed like the shipped ones."""
    import json

    from trm_viz import bench as inference_bench
    from trm_viz.model.checkpoints import save_checkpoint
    from trm_viz.model.config import TRMConfig
    from trm_viz.model.trm import TRM

    folder = save_checkpoint(tmp_path / "mine", TRM(TRMConfig(
        hidden_size=32, num_heads=2, L_layers=1, H_cycles=1, L_cycles=1, puzzle_emb_ndim=32, vocab_size=11,
        seq_len=81, mlp_t=True, pos_encodings="none", task="sudoku")))
    inference_bench.main(["--configs", str(folder), "--repeats", "1", "--dtypes", "float32"])
    row = json.loads(capsys.readouterr().out.splitlines()[-1])["results"][0]
    assert row["config"] == str(folder) and row["trace_16_steps_s"] > 0 and row["params_M"] < 1
    with pytest.raises(SystemExit):
        inference_bench.main(["--configs", str(tmp_path / "nowhere")])
    assert "no config, shipped checkpoint or checkpoint folder" in capsys.readouterr().err
