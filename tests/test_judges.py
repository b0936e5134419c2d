import io
import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from pix2pix_hub.evaluation.evaluate import main as evaluate_main
from pix2pix_hub.evaluation.judges import (
    FACADE_PALETTE,
    IGNORED,
    LABEL_SETS,
    NUM_FACADE_CLASSES,
    Bounds,
    FCNScore,
    Judge,
    LabelMapScore,
    MapStructureScore,
    confusion_matrix,
    judge_score,
    labels_from_palette,
    main,
    map_distances,
    segmentation_scores,
    train_judge,
    training_targets,
)
from pix2pix_hub.hub import save_state_dict
from pix2pix_hub.images import image_to_tensor
from pix2pix_hub.networks import Pix2PixGenerator


def blocky_labels(count: int, size: int, seed: int = 0) -> torch.Tensor:
    """Random label layouts made of 8x8 blocks, so every block has an interior away from JPEG-blurred edges."""
    generator = torch.Generator().manual_seed(seed)
    blocks = torch.randint(NUM_FACADE_CLASSES, (count, size // 8, size // 8), generator=generator)
    return blocks.repeat_interleave(8, dim=1).repeat_interleave(8, dim=2)


def paint(labels: torch.Tensor) -> torch.Tensor:
    """Label indices (N, H, W) as jet-coloured label maps (N, 3, H, W) in [-1, 1]."""
    return FACADE_PALETTE[labels].permute(0, 3, 1, 2) / 127.5 - 1


def jpeg_round_trip(images: torch.Tensor, quality: int = 75) -> torch.Tensor:
    """Compress each image as JPEG and decode it again, as the label maps in the data sets were."""
    decoded = []
    for image in images:
        pixels = ((image.permute(1, 2, 0) + 1) * 127.5).round().clamp(0, 255).byte().numpy()
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
        decoded.append(image_to_tensor(Image.open(buffer), 3))
    return torch.stack(decoded)


def test_exact_palette_colours_map_to_their_class_indices():
    labels = torch.arange(NUM_FACADE_CLASSES).reshape(1, 3, 4)
    assert torch.equal(labels_from_palette(paint(labels)), labels)


def test_labels_survive_jpeg_noise_inside_regions():
    labels = blocky_labels(4, 64)
    recovered = labels_from_palette(jpeg_round_trip(paint(labels)))
    centre = (torch.arange(64) % 8 >= 2) & (torch.arange(64) % 8 < 6)  # the 4x4 centre of each 8x8 block
    interior = centre[:, None] & centre[None, :]
    assert torch.equal(recovered[:, interior], labels[:, interior])


def test_labels_reject_images_without_three_channels():
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\) colour label maps"):
        labels_from_palette(torch.zeros(1, 1, 8, 8))


def test_segmentation_scores_on_a_hand_checked_case():
    target = torch.tensor([0, 0, 1, 1])
    predicted = torch.tensor([0, 1, 1, 1])
    confusion = confusion_matrix(predicted, target, num_classes=3)
    assert confusion.tolist() == [[1, 1, 0], [0, 2, 0], [0, 0, 0]]
    scores = segmentation_scores(confusion)
    assert scores["per_pixel_accuracy"] == pytest.approx(3 / 4)
    assert scores["per_class_accuracy"] == pytest.approx((1 / 2 + 2 / 2) / 2)  # class 2 is absent: left out
    assert scores["class_iou"] == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_a_wrong_class_that_is_never_true_still_costs_iou():
    scores = segmentation_scores(confusion_matrix(torch.tensor([2, 1]), torch.tensor([1, 1]), num_classes=3))
    assert scores["per_class_accuracy"] == pytest.approx(1 / 2)
    assert scores["class_iou"] == pytest.approx((1 / 2 + 0) / 2)


def test_perfect_and_flat_maps_give_the_extreme_structure_scores():
    maps = torch.rand(2, 3, 32, 32) * 2 - 1
    l1, ssim = map_distances(maps, maps)
    assert l1 == [0.0, 0.0]
    assert ssim == pytest.approx([1.0, 1.0])
    l1, ssim = map_distances(-torch.ones_like(maps), torch.ones_like(maps))
    assert l1 == [1.0, 1.0]
    _, flat_ssim = map_distances(torch.zeros_like(maps), maps)
    assert all(value < 0.1 for value in flat_ssim)


def test_scores_refuse_a_judge_of_the_other_kind():
    with pytest.raises(ValueError, match="needs a facades or cityscapes judge"):
        FCNScore(Judge(kind="maps", width=4, depth=2, image_size=32))
    with pytest.raises(ValueError, match="needs a maps judge"):
        MapStructureScore(Judge(kind="facades", width=4, depth=2, image_size=32))


def test_judge_rejects_unknown_kinds_and_sizes_it_cannot_halve():
    with pytest.raises(ValueError, match="kind='roads' is not a judge kind"):
        Judge(kind="roads")
    with pytest.raises(ValueError, match="multiple of 32"):
        Judge(width=4, depth=4, image_size=48)


def test_judge_outputs_follow_the_input_size_and_kind():
    facades = Judge(kind="facades", width=4, depth=2, image_size=32)
    maps = Judge(kind="maps", width=4, depth=2, image_size=32)
    photos = torch.rand(2, 3, 40, 56) * 2 - 1
    assert facades(torch.zeros(2, 3, 32, 32)).shape == (2, NUM_FACADE_CLASSES, 32, 32)
    assert facades.predict(photos).shape == (2, 40, 56)
    predicted_map = maps.predict(photos, size=(64, 64))
    assert predicted_map.shape == (2, 3, 64, 64)
    assert predicted_map.abs().max() <= 1


def test_judge_round_trip_through_save_and_from_pretrained(tmp_path):
    judge = Judge(kind="maps", width=4, depth=2, image_size=32)
    train_judge(judge, torch.rand(4, 3, 36, 36) * 2 - 1, torch.rand(4, 3, 36, 36) * 2 - 1, steps=2, batch_size=2)
    judge.save_pretrained(tmp_path / "judge", model_card_kwargs={"kind": "maps", "bounds": {}})
    loaded = Judge.from_pretrained(tmp_path / "judge")
    assert json.loads((tmp_path / "judge" / "config.json").read_text()) == {
        "depth": 2,
        "image_size": 32,
        "kind": "maps",
        "width": 4,
    }
    photos = torch.rand(3, 3, 32, 32) * 2 - 1
    assert torch.equal(loaded.predict(photos), judge.predict(photos))


def test_half_precision_judge_files_load_as_float32(tmp_path):
    judge = Judge(kind="facades", width=4, depth=2, image_size=32)
    judge.save_pretrained(tmp_path / "judge", model_card_kwargs={"bounds": {}})
    weights = tmp_path / "judge" / "model.safetensors"
    save_state_dict({name: tensor.half() for name, tensor in load_file(weights).items()}, weights)
    loaded = Judge.from_pretrained(tmp_path / "judge")
    assert all(parameter.dtype == torch.float32 for parameter in loaded.parameters())


def learnable_facades(count: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Photos whose colour encodes the class (a fixed random colour per class, plus noise), and their labels."""
    labels = blocky_labels(count, size, seed=1)
    colours = torch.rand(NUM_FACADE_CLASSES, 3, generator=torch.Generator().manual_seed(2)) * 2 - 1
    photos = colours[labels].permute(0, 3, 1, 2) + 0.05 * torch.randn(count, 3, size, size)
    return photos.clamp(-1, 1), labels


@pytest.fixture(scope="module")
def trained_facade_judge() -> tuple[Judge, list[float]]:
    """A tiny facade judge trained on photos whose colour encodes the class, with its loss curve."""
    photos, labels = learnable_facades(8, 40)
    judge = Judge(kind="facades", width=8, depth=2, image_size=32)
    losses = train_judge(judge, photos, labels, steps=60, batch_size=4, learning_rate=1e-2)
    return judge, losses


def test_a_tiny_facade_judge_learns_and_scores_real_photos_above_the_mean_photo(trained_facade_judge):
    judge, losses = trained_facade_judge
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5])
    photos, labels = learnable_facades(8, 40)
    label_maps = paint(labels)
    real, mean = judge_score(judge), judge_score(judge)
    real.update(photos, label_maps)
    mean.update(photos.mean(dim=0, keepdim=True).expand_as(photos), label_maps)
    assert real.compute()["per_pixel_accuracy"] > mean.compute()["per_pixel_accuracy"] + 0.3


@pytest.mark.parametrize(("outputs_are", "expected_gap_closed"), [("real", 1.0), ("mean", 0.0)])
def test_bounds_place_outputs_between_the_mean_and_the_real_target(
    trained_facade_judge, outputs_are, expected_gap_closed
):
    judge, _ = trained_facade_judge
    photos, labels = learnable_facades(8, 40)
    mean_photo = photos.mean(dim=0)
    bounds = Bounds(mean_photo, judge)
    outputs = photos if outputs_are == "real" else mean_photo.expand_as(photos)
    bounds.update(paint(labels), outputs, photos)
    report = bounds.compute()
    assert report["judge"]["kind"] == "facades"
    assert report["judge"]["gap_closed"] == pytest.approx(dict.fromkeys(report["judge"]["output"], expected_gap_closed))
    assert report["mean_training_target"]["l1"] == pytest.approx(
        (photos - mean_photo).abs().mean().item() / 2, rel=0.02
    )


def test_bounds_without_a_judge_score_only_the_mean_target():
    targets = torch.rand(3, 3, 16, 16) * 2 - 1
    bounds = Bounds(targets.mean(dim=0))
    bounds.update(targets, targets, targets)
    assert set(bounds.compute()) == {"mean_training_target"}
    assert set(bounds.compute()["mean_training_target"]) == {"l1", "psnr", "ssim"}


def test_evaluate_cli_reports_the_judge_and_the_bounds(tmp_path, trained_facade_judge):
    write_ab_folder(tmp_path / "data" / "train", 4, seed=0)
    write_ab_folder(tmp_path / "data" / "test", 2, seed=100)
    trained_facade_judge[0].save_pretrained(tmp_path / "judge", model_card_kwargs={"bounds": {}})
    Pix2PixGenerator(arch="resnet_6blocks", ngf=4, norm="instance").save_pretrained(tmp_path / "model")
    report = evaluate_main(
        ["--model", str(tmp_path / "model"), "--dataset", str(tmp_path / "data"), "--direction", "BtoA"]
        + ["--output_dir", str(tmp_path / "eval"), "--load_size", "32", "--crop_size", "32"]
        + ["--judge", str(tmp_path / "judge")]
    )
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text()) == report
    assert set(report["judge"]) == {"kind", "output", "real_target", "mean_training_target", "gap_closed"}
    assert report["judge"]["real_target"]["per_pixel_accuracy"] > report["judge"]["output"]["per_pixel_accuracy"]
    assert set(report["mean_training_target"]) == {"l1", "psnr", "ssim"}


def test_a_tiny_map_judge_regression_loss_falls():
    maps = paint(blocky_labels(8, 40))
    photos = -maps.flip(1)  # a learnable photo -> map relation, smooth enough for a half-resolution judge
    judge = Judge(kind="maps", width=8, depth=2, image_size=32)
    losses = train_judge(judge, photos, maps, steps=40, batch_size=4, learning_rate=1e-2)
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5])


def test_training_targets_read_labels_at_full_resolution_then_shrink_them():
    labels = blocky_labels(2, 64)
    targets = training_targets("facades", paint(labels), 32)
    assert targets.dtype == torch.long
    assert torch.equal(targets, labels[:, ::2, ::2])


def write_ab_folder(folder, count: int, seed: int) -> None:
    """Side-by-side AB JPEGs as in the pix2pix data sets: a 'photo' left, its jet label map right."""
    folder.mkdir(parents=True)
    photos, labels = learnable_facades(count, 64)
    for index, (photo, label_map) in enumerate(zip(photos, paint(labels), strict=True)):
        pair = torch.cat([photo, label_map], dim=-1)
        pixels = ((pair.permute(1, 2, 0) + 1) * 127.5).round().byte().numpy()
        Image.fromarray(pixels).save(folder / f"{index + seed}.jpg", quality=95)


def test_train_command_saves_a_hub_folder_with_its_bounds(tmp_path, capsys):
    write_ab_folder(tmp_path / "data" / "train", 6, seed=0)
    write_ab_folder(tmp_path / "data" / "test", 3, seed=100)
    out = tmp_path / "judge"
    main(
        ["train", "facades", "--data", str(tmp_path / "data"), "--out", str(out)]
        + ["--steps", "3", "--width", "4", "--depth", "2", "--image_size", "32", "--batch_size", "2"]
    )
    bounds = json.loads((out / "bounds.json").read_text())
    assert set(bounds) == {"real", "mean_training_photo"}
    assert set(bounds["real"]) == {"per_pixel_accuracy", "per_class_accuracy", "class_iou"}
    card = (out / "README.md").read_text()
    assert "python -m pix2pix_hub.judges train facades" in card
    assert f"| real | {bounds['real']['per_pixel_accuracy']:.4f} |" in card
    assert Judge.from_pretrained(out).kind == "facades"
    capsys.readouterr()
    main(["bounds", "--judge", str(out), "--data", str(tmp_path / "data")])
    assert json.loads(capsys.readouterr().out) == bounds


def test_train_command_names_a_folder_without_images(tmp_path):
    (tmp_path / "data" / "train").mkdir(parents=True)
    with pytest.raises(ValueError, match="no .jpg or .png AB images"):
        main(["train", "maps", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "out")])


def paint_cityscapes(labels: torch.Tensor) -> torch.Tensor:
    """Cityscapes trainIds (N, H, W), IGNORED drawn in a void colour, as colour label maps in [-1, 1]."""
    label_set = LABEL_SETS["cityscapes"]
    colours = torch.cat([label_set.palette, label_set.void[1:2]])  # index num_classes: "dynamic", a void colour
    indices = labels.masked_fill(labels == IGNORED, label_set.num_classes)
    return colours[indices].permute(0, 3, 1, 2) / 127.5 - 1


def test_cityscapes_void_colours_are_ignored_and_every_evaluated_colour_is_its_train_id():
    label_set = LABEL_SETS["cityscapes"]
    assert label_set.num_classes == 19
    labels = torch.arange(20).reshape(1, 4, 5).masked_fill(torch.arange(20).reshape(1, 4, 5) == 19, IGNORED)
    assert torch.equal(labels_from_palette(paint_cityscapes(labels), "cityscapes"), labels)
    black = -torch.ones(1, 3, 2, 2)  # unlabeled, ego vehicle, out of roi ...: void
    assert (labels_from_palette(black, "cityscapes") == IGNORED).all()


def test_void_pixels_count_in_no_score():
    target = torch.tensor([0, 1, IGNORED, IGNORED])
    predicted = torch.tensor([0, 1, 0, 1])
    assert confusion_matrix(predicted, target, num_classes=2).tolist() == [[1, 0], [0, 1]]


def test_generated_label_maps_score_one_when_they_are_the_real_maps_and_lower_when_shuffled():
    labels = blocky_labels(2, 32) % 19
    labels[:, :8] = IGNORED
    real = paint_cityscapes(labels)
    perfect, compressed, shuffled = (LabelMapScore("cityscapes") for _ in range(3))
    perfect.update(real, real)
    compressed.update(jpeg_round_trip(real), real)
    shuffled.update(real.flip(-1), real)
    assert perfect.compute() == {"per_pixel_accuracy": 1.0, "per_class_accuracy": 1.0, "class_iou": 1.0}
    # JPEG noise only blurs the block edges: the nearest class colour still recovers most pixels
    assert compressed.compute()["per_pixel_accuracy"] > 0.9
    assert shuffled.compute()["per_pixel_accuracy"] < 0.5
    assert perfect.confusion.sum() == (labels != IGNORED).sum()  # void rows are left out


def test_a_cityscapes_judge_predicts_its_19_classes_and_trains_around_void_pixels():
    judge = Judge(kind="cityscapes", width=4, depth=2, image_size=32)
    photos = torch.rand(4, 3, 32, 32) * 2 - 1
    labels = blocky_labels(4, 32) % 19
    labels[:, :, :8] = IGNORED
    losses = train_judge(judge, photos, training_targets("cityscapes", paint_cityscapes(labels), 32), steps=3)
    assert all(np.isfinite(losses))
    assert judge(photos).shape == (4, 19, 32, 32)
    assert judge.predict(photos).max() < 19
    assert isinstance(judge_score(judge), FCNScore)
