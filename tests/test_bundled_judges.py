"""The shipped judges (weights/judges): one per task, in float16, loading into their float32 networks."""

from pathlib import Path

import torch
from safetensors.torch import load_file

from pix2pix_hub.evaluation.domain_judge import DomainJudge
from pix2pix_hub.evaluation.judges import Judge
from recipes.float16_judges import to_float16

JUDGES = Path(__file__).resolve().parent.parent / "weights" / "judges"


def test_one_judge_per_task_is_shipped_each_in_float16():
    assert sorted(path.name for path in JUDGES.iterdir()) == ["apple2orange", "cityscapes", "facades", "maps"]
    for folder in JUDGES.iterdir():
        dtypes = {tensor.dtype for tensor in load_file(folder / "model.safetensors").values()}
        assert dtypes <= {torch.float16, torch.int64}, (folder.name, dtypes)


def test_the_float16_judges_load_into_float32_networks_and_answer():
    photos = torch.rand(2, 3, 128, 128) * 2 - 1
    for name, classes in (("facades", 12), ("cityscapes", 19)):
        judge = Judge.from_pretrained(JUDGES / name)
        assert judge.predict(photos).max() < classes and next(judge.parameters()).dtype == torch.float32
    assert Judge.from_pretrained(JUDGES / "maps").predict(photos).shape == (2, 3, 128, 128)
    assert 0 <= DomainJudge.from_pretrained(JUDGES / "apple2orange").share_of_b(photos) <= 1


def test_converting_a_judge_to_float16_keeps_its_verdicts_and_is_done_once(tmp_path):
    torch.manual_seed(0)
    judge = Judge(kind="facades", width=16, depth=3, image_size=32)
    judge.save_pretrained(tmp_path, model_card_kwargs={"bounds": {}})
    photos = torch.rand(4, 3, 32, 32) * 2 - 1
    before, size = Judge.from_pretrained(tmp_path).eval()(photos), (tmp_path / "model.safetensors").stat().st_size
    assert to_float16(tmp_path / "model.safetensors") and not to_float16(tmp_path / "model.safetensors")
    after = Judge.from_pretrained(tmp_path).eval()(photos)
    assert (tmp_path / "model.safetensors").stat().st_size < 0.6 * size
    assert torch.allclose(before, after, atol=1e-2) and (before.argmax(1) == after.argmax(1)).float().mean() > 0.95
