"""Training precision: `--mixed_precision auto` picks bf16 only where the hardware computes it natively."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from pix2pix_hub.training.precision import Hardware, choose_precision, detect_hardware
from tests.paired_data import write_ab_folder
from tests.test_training import train

BF16_CPU = Hardware("cpu", True, "CPU with avx512_bf16")
AVX2_CPU = Hardware("cpu", False, "CPU without bf16 instructions (best vector extension AVX2)")
BF16_GPU = Hardware("cuda", True, "NVIDIA H100")
OLD_GPU = Hardware("cuda", False, "Tesla V100")


def test_auto_trains_in_bf16_only_where_it_is_native():
    assert choose_precision("auto", BF16_CPU).mixed_precision == "bf16"
    assert choose_precision("auto", BF16_GPU).mixed_precision == "bf16"
    assert choose_precision("auto", AVX2_CPU).mixed_precision == "no"
    assert choose_precision("auto", OLD_GPU).mixed_precision == "no"
    assert "not native" in choose_precision("auto", AVX2_CPU).reason


def test_auto_follows_a_half_precision_named_by_accelerate_but_not_its_unset_default():
    assert choose_precision("auto", OLD_GPU, launcher="fp16").mixed_precision == "fp16"
    assert choose_precision("auto", AVX2_CPU, launcher="no").mixed_precision == "no"
    assert choose_precision("auto", BF16_CPU, launcher="no").mixed_precision == "bf16"  # launch's default is "no"
    assert choose_precision("auto", BF16_GPU, launcher="fp8").mixed_precision == "bf16"  # not ours to carry


def test_an_explicit_choice_is_kept_and_a_slow_one_on_a_cpu_is_explained():
    slow = choose_precision("bf16", AVX2_CPU)
    assert slow.mixed_precision == "bf16"
    assert all(words in slow.warning for words in ("slower than in float32", "AVX2", "--mixed_precision auto"))
    assert choose_precision("bf16", BF16_CPU).warning is None
    assert choose_precision("fp16", BF16_CPU).warning is not None  # no native fp16 convolutions on that CPU
    assert choose_precision("no", BF16_CPU).mixed_precision == "no"
    with pytest.raises(ValueError, match="--mixed_precision 'half'"):
        choose_precision("half", BF16_CPU)


def test_this_cpus_bf16_support_is_read_from_its_flags():
    flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")).split()
    hardware = detect_hardware()
    if not torch.cuda.is_available():
        assert hardware.native_bf16 == ("avx512_bf16" in flags or "amx_bf16" in flags)


def test_a_bf16_run_trains_under_autocast_and_lands_near_the_float32_run(tmp_path):
    root = write_ab_folder(tmp_path / "ab", {"train": 4, "test": 1})
    common = ["--dataset", str(root), "--report_to", "none", "--eval_steps", "0", "--max_train_steps", "4"]
    runs = {}
    for precision in ("no", "bf16"):
        out = tmp_path / precision
        run = train(*common, "--mixed_precision", precision, "--output_dir", str(out))
        assert run.returncode == 0, run.stderr[-3000:]
        record = json.loads((out / "training.json").read_text())
        assert f"({precision} mixed precision)" in record["stages"][0]["hardware"]
        assert ("slower than in float32" in run.stderr) == (precision == "bf16" and not detect_hardware().native_bf16)
        runs[precision] = load_file(out / "model.safetensors")
    differences = [(runs["bf16"][name].float() - runs["no"][name].float()).abs().max() for name in runs["no"]]
    assert max(differences) > 0  # autocast changed the arithmetic
    assert max(differences) < 0.05  # four steps of lr 2e-4 move a weight by at most ~8e-4 either way
