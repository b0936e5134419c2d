"""`--method everybody_dance_now`: consecutive-frame data, the step (G on its previous frame, frame D, temporal D),
sequence generation and its temporal measure, and the trainer end to end with kill-and-resume.

The sequences are real files written here: a stick figure (`pix2pix_hub.pose.render_pose`) that steps right frame
by frame, and a "video" frame that is the figure drawn dark on grey; tiny networks on 32x32 images.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from accelerate import Accelerator
from gradio_client import Client, handle_file
from PIL import Image
from safetensors.torch import load_file

from pix2pix_hub import Pix2PixGenerator, Pix2PixPipeline
from pix2pix_hub.data.frames import ConsecutiveFrames, collate_frame_pairs
from pix2pix_hub.data.preprocessing import Preprocessing
from pix2pix_hub.data.sources import SideBySideFiles
from pix2pix_hub.evaluation.sequence import sequence_metrics
from pix2pix_hub.images import image_to_tensor, tensor_to_image
from pix2pix_hub.inference.sequence import generate_sequence
from pix2pix_hub.methods.base import recipe_from_args
from pix2pix_hub.methods.everybody_dance_now import PAPER, EverybodyDanceNow, EverybodyDanceNowRecipe
from pix2pix_hub.pose import BodyStats, normalise_poses, read_openpose_json, render_pose
from pix2pix_hub.training.arguments import parse_args
from space.dance import MODEL_ENV, MY_FILES, load_dancer
from space.launch import start_app
from tests.test_pose import FIXTURES, STEMS, walking_pose
from tests.test_training import kill_after_first_checkpoint
from tests.test_training import train as run_trainer

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TINY = ["--method", "everybody_dance_now", "--ngf", "4", "--ndf", "4", "--n_downsample_global", "2"]
TINY += ["--n_blocks_global", "1", "--num_D", "1", "--n_layers_D", "2", "--lambda_l1", "10"]
TINY += ["--report_to", "none", "--mixed_precision", "no", "--eval_steps", "0"]


def write_sequence(root: Path, splits: dict[str, int], size: int = 32, frame_is_pose: bool = False) -> Path:
    """<split>/frame<t>.png: the frame (the figure dark on grey, or the stick figure itself) left, its stick figure
    right; the figure walks right."""
    start = 0
    for split, count in splits.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        for t in range(start, start + count):
            pose = walking_pose(shift=6 * t - 30)
            skeleton = render_pose(pose, (size, size))
            ink = np.asarray(skeleton.convert("L"), dtype=np.float64) < 250
            frame = np.where(ink[..., None], (40, 30, 90), (170, 170, 170)).astype(np.uint8)
            frame = np.asarray(skeleton) if frame_is_pose else frame
            pair = np.concatenate([frame, np.asarray(skeleton)], axis=1)
            Image.fromarray(pair).save(root / split / f"frame{t:04d}.png")
        start += count
    return root


def test_consecutive_pairs_follow_file_order_and_share_one_augmentation_draw(tmp_path):
    root = write_sequence(tmp_path / "seq", {"train": 5})
    frames = SideBySideFiles(sorted((root / "train").iterdir()), "BtoA")
    data = ConsecutiveFrames(frames, Preprocessing("resize_and_crop", 40, 32, flip=False), seed=3)
    assert len(data) == 4
    for key in range(8):  # two epochs of keys
        item = data[key]
        index = key % 4
        assert item["name"].endswith(f"frame{index:04d}.png -> frame{index + 1:04d}")
        # the figure steps right by ~0.75 px a frame: the second frame's ink sits right of the first's
        ink = [(image.mean(0) < -0.2).float() for image in (item["target"], item["next_target"])]
        columns = torch.arange(32.0)
        centres = [(mask * columns).sum() / mask.sum() for mask in ink]
        assert centres[1] > centres[0]
    same = write_sequence(tmp_path / "same", {"train": 5}, frame_is_pose=True)
    frames = SideBySideFiles(sorted((same / "train").iterdir()), "BtoA")
    same_data = ConsecutiveFrames(frames, Preprocessing("resize_and_crop", 40, 32, flip=True), seed=3)
    for item in (same_data[key] for key in range(8)):
        # one crop and flip for all four images: identical halves stay identical
        assert torch.equal(item["source"], item["target"]) and torch.equal(item["next_source"], item["next_target"])
    batch = collate_frame_pairs([data[0], data[1]])
    assert batch["next_source"].shape == (2, 3, 32, 32) and len(batch["names"]) == 2


def tiny_method(*flags: str):
    args = parse_args([*TINY, "--dataset", "unused", *flags])
    return args, recipe_from_args(EverybodyDanceNowRecipe, args)


def test_one_step_updates_the_generator_the_frame_d_and_the_temporal_d(tmp_path):
    root = write_sequence(tmp_path / "seq", {"train": 3, "test": 2})
    accelerator = Accelerator(cpu=True)
    for flags, temporal in (([], True), (["--lambda_temporal", "0"], False)):
        args, recipe = tiny_method("--dataset", str(root), "--preprocess", "none", *flags)
        method = EverybodyDanceNow()
        data = method.load_data(args, recipe)
        torch.manual_seed(0)
        state = method.build(recipe, data, args)
        assert ("temporal_discriminator" in state.modules) is temporal
        inputs = state.modules["generator"].inputs  # the pose and the frame before: 6 channels into the stem
        assert [(item.name, item.channels) for item in inputs] == [("source", 3), ("previous", 3)]
        before = {name: [p.detach().clone() for p in m.parameters()] for name, m in state.modules.items()}
        batch = collate_frame_pairs([data.train[0]])
        losses = method.training_step(accelerator, state, batch, recipe)
        assert ("T_G_GAN" in losses) is temporal and losses["G_L1"] > 0
        for name, module in state.modules.items():
            changed = [not torch.equal(a, b) for a, b in zip(before[name], module.parameters(), strict=True)]
            assert all(changed), name


def test_a_sequence_without_an_evaluation_split_is_refused_rather_than_scattered(tmp_path):
    root = write_sequence(tmp_path / "seq", {"train": 4})
    args, recipe = tiny_method("--dataset", str(root))
    with pytest.raises(ValueError, match="put the last frames in a test/ folder"):
        EverybodyDanceNow().load_data(args, recipe)


def test_each_frame_is_generated_from_its_pose_and_the_frame_before():
    torch.manual_seed(0)
    generator = Pix2PixGenerator(
        "global_previous_frame", 3, 3, 4, "instance", False, "eval", {"n_downsample_global": 2}
    )
    generator.arch_options["n_blocks_global"] = 1
    poses = torch.rand(3, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        frames = generate_sequence(generator.eval(), poses)
        first = generator(poses[:1], torch.zeros(1, 3, 32, 32))[0]
        second = generator(poses[1:2], first[None])[0]
        unconditioned = generator(poses[1:2], torch.zeros(1, 3, 32, 32))[0]
    torch.testing.assert_close(frames[0], first)
    torch.testing.assert_close(frames[1], second)
    assert not torch.allclose(frames[1], unconditioned, atol=1e-4)  # the previous frame is an input, not ignored


def test_temporal_change_is_zero_for_a_still_video_and_grows_with_flicker():
    still = [Image.new("RGB", (16, 16), (100, 100, 100))] * 4
    flicker = [Image.new("RGB", (16, 16), (100 + 40 * (t % 2),) * 3) for t in range(4)]
    metrics = sequence_metrics(flicker, still)
    assert metrics["temporal_change_real"] == 0
    assert metrics["temporal_change"] == pytest.approx(40 / 255)
    assert sequence_metrics(still, still)["l1"] == 0


def test_the_defaults_are_the_reference_options_and_flipping_is_refused():
    assert (PAPER.n_downsample_global, PAPER.n_blocks_global, PAPER.num_D, PAPER.lambda_feat) == (4, 9, 2, 10.0)
    assert (PAPER.direction, PAPER.flip, PAPER.lambda_temporal, PAPER.lambda_l1) == ("BtoA", False, 1.0, 0.0)
    with pytest.raises(SystemExit):
        parse_args([*TINY, "--dataset", "x", "--flip"])


def test_trains_end_to_end_and_a_killed_run_resumes_to_the_same_weights(tmp_path):
    root = write_sequence(tmp_path / "seq", {"train": 6, "test": 3})
    common = [*TINY, "--dataset", str(root), "--preprocess", "none", "--epochs", "20", "--decay_epochs", "20"]
    killed = tmp_path / "killed"
    resumed_from = int(kill_after_first_checkpoint(common, killed, 2).name.split("-")[1])
    final = ["--max_train_steps", str(resumed_from + 3), "--checkpointing_steps", "0"]
    resumed = run_trainer(*common, "--output_dir", str(killed), "--resume_from_checkpoint", "latest", *final, tiny=[])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"at step {resumed_from}" in resumed.stderr
    straight = tmp_path / "straight"
    run = run_trainer(*common, "--output_dir", str(straight), *final, tiny=[])
    assert run.returncode == 0, run.stderr[-3000:]
    expected, actual = load_file(straight / "model.safetensors"), load_file(killed / "model.safetensors")
    assert expected.keys() == actual.keys() and all(torch.equal(expected[k], actual[k]) for k in expected)

    metrics = json.loads((straight / "metrics.json").read_text())
    assert metrics["num_pairs"] == 3 and metrics["temporal_change"] >= 0 and metrics["temporal_change_real"] > 0
    record = json.loads((straight / "training.json").read_text())
    assert record["method"] == "everybody_dance_now" and record["data"]["train_pairs"] == 5
    card = (straight / "README.md").read_text()
    assert "Everybody Dance Now" in card and "temporal discriminator" in card
    generator = Pix2PixGenerator.from_pretrained(straight)
    assert [item.name for item in generator.inputs] == ["source", "previous"]
    assert generator.arch == "global_previous_frame"


def test_a_dance_model_saved_before_named_inputs_makes_the_same_frames():
    """Folders trained before the generator named its inputs hold pix2pixHD's global arch with 6 input channels;
    `generate_sequence` feeds them the pose and the previous frame stacked, as they were trained."""
    torch.manual_seed(0)
    options = {"n_downsample_global": 2, "n_blocks_global": 1}
    named = Pix2PixGenerator("global_previous_frame", 3, 3, 4, "instance", False, "eval", options).eval()
    stacked = Pix2PixGenerator("global", 6, 3, 4, "instance", False, "eval", options).eval()
    stacked.load_state_dict(named.state_dict())
    poses = torch.rand(3, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(generate_sequence(stacked, poses), generate_sequence(named, poses), rtol=0, atol=0)


# --- the app's Dance tab -----------------------------------------------------------------------------------------


def tiny_dancer_folder(folder: Path) -> Path:
    """A tiny generator with the dance.json the app reads: the fixtures' six poses as the test sequence."""
    torch.manual_seed(0)
    options = {"n_downsample_global": 2, "n_blocks_global": 1}
    Pix2PixGenerator("global_previous_frame", 3, 3, 4, "instance", False, "eval", options).save_pretrained(folder)
    poses = [read_openpose_json(path) for path in sorted(FIXTURES.glob("*_keypoints.json"))]
    meta = {"size": 32, "fps": 7.5, "subject": BodyStats.of(poses).to_dict()}
    meta["test_poses"] = [pose.body.tolist() for pose in poses]
    (folder / "dance.json").write_text(json.dumps(meta))
    return folder


def mp4_frames(path: str) -> list[np.ndarray]:
    """The decoded frames of a video file (RGB, by the ffmpeg imageio-ffmpeg ships)."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(path)
    meta = next(reader)
    width, height = meta["size"]
    return [np.frombuffer(frame, np.uint8).reshape(height, width, 3) for frame in reader]


def test_the_dance_tab_runs_onnx_runtime_and_makes_the_frames_eager_pytorch_makes(tmp_path):
    dancer = load_dancer(str(tiny_dancer_folder(tmp_path / "edn")))
    assert (dancer.runner.backend, dancer.runner.precision) == ("onnxruntime", "float32")  # no calibration here
    frames = dancer.frames(dancer.test_poses)
    assert dancer.runner.onnx is not None and len(frames) == len(dancer.test_poses)  # ONNX Runtime made them
    side = (dancer.size, dancer.size)
    poses = torch.stack(
        [image_to_tensor(render_pose(pose).resize(side, Image.Resampling.BICUBIC)) for pose in dancer.test_poses]
    )
    with torch.no_grad():
        eager = generate_sequence(dancer.generator, poses)
    fast = generate_sequence(dancer.runner, poses)
    torch.testing.assert_close(fast[0], eager[0], rtol=0, atol=1e-4)  # one forward: float32 rounding apart
    torch.testing.assert_close(fast, eager, rtol=0, atol=0.5 / 127.5)  # fed back frame to frame: < half an 8-bit step


def test_the_pipeline_takes_the_previous_frame_by_name_and_needs_it(tmp_path):
    """`pipe(pose, previous=frame)`: one image through the pipeline with the frame before as a named input, the same
    as the runner on the two tensors; without it, a plain-words error naming the input."""
    folder = tiny_dancer_folder(tmp_path / "edn")
    pipe = Pix2PixPipeline.from_pretrained(folder, image_size=32)
    pose, frame = render_pose(load_dancer(str(folder)).test_poses[0]), Image.new("RGB", (64, 64), (200, 120, 40))
    output = pipe(pose, previous=frame)
    assert output.size == pose.size
    side = (32, 32)
    tensors = {"source": image_to_tensor(pose.resize(side, Image.Resampling.BICUBIC))[None]}
    tensors["previous"] = image_to_tensor(frame.resize(side, Image.Resampling.BICUBIC))[None]
    expected = tensor_to_image(pipe.runner.run(tensors)[0]).resize(pose.size, Image.Resampling.BICUBIC)
    assert np.abs(np.asarray(output, dtype=int) - np.asarray(expected, dtype=int)).max() <= 1
    assert np.asarray(pipe(pose, previous=pose)).tolist() != np.asarray(output).tolist()  # the frame matters
    with pytest.raises(ValueError, match="needs its 'previous' input"):
        pipe(pose)


@pytest.fixture(scope="module")
def dance_app(tmp_path_factory):
    """`python app.py` with the Dance tab on a tiny model (PIX2PIX_MODEL_EDN_SUBJECT)."""
    root = tmp_path_factory.mktemp("dance_app")
    model = tiny_dancer_folder(root / "edn")
    env = {
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(root / "hf"),
        "GRADIO_TEMP_DIR": str(root / "tmp"),
        MODEL_ENV: str(model),
    }
    process, url = start_app(env, root / "app.log", timeout=240)
    yield url, model
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


def test_the_dance_api_turns_openpose_json_into_the_video_the_library_makes(dance_app, tmp_path):
    url, model = dance_app
    client = Client(url, verbose=False, download_files=str(tmp_path), analytics_enabled=False)
    files = [handle_file(str(path)) for path in sorted(FIXTURES.glob("*_keypoints.json"))]
    video, made = client.predict(MY_FILES, files, 6, True, api_name="/dance")
    frames = mp4_frames(video["video"] if isinstance(video, dict) else video)
    assert len(frames) == 6 and frames[0].shape == (256, 256, 3) and "6 frames from 6 OpenPose JSON files" in made
    dancer = load_dancer(str(model))
    poses = [read_openpose_json(path) for path in sorted(FIXTURES.glob("*_keypoints.json"))]
    expected = dancer.frames(normalise_poses(poses, BodyStats.of(poses), dancer.subject))
    for frame, image in zip(frames, expected, strict=True):
        assert np.abs(frame.astype(float) - np.asarray(image, dtype=float)).mean() < 6  # H.264 at crf 20
    with pytest.raises(Exception, match="a mix of JSON files and images"):
        client.predict(
            MY_FILES, [files[0], handle_file(str(FIXTURES / f"{STEMS[0]}_pose.png"))], 6, True, api_name="/dance"
        )


def test_browser_dance_tab_makes_a_video_and_moves_a_joint(browser, dance_app):
    url, _ = dance_app
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    page = context.new_page()
    page.goto(url)
    page.get_by_role("tab", name="Dance").click()
    page.click("#dance-button")
    page.wait_for_function(
        "() => { const v = document.querySelector('#dance-video video'); return v && v.readyState >= 1; }",
        timeout=120_000,
    )
    source = page.eval_on_selector("#dance-video video", "video => video.currentSrc || video.src")
    ARTIFACTS.mkdir(exist_ok=True)
    body = page.request.get(source).body()
    assert body[4:8] == b"ftyp"  # an mp4 the browser can play
    assert "frames from the test sequence" in page.locator("#dance-made").inner_text()
    page.screenshot(path=str(ARTIFACTS / "app-dance.png"), full_page=True)
    before = page.eval_on_selector("#dance-figure img", "img => img.src")
    number = page.locator("#dance-x input[type=number]")
    number.fill("40")
    number.press("Enter")
    page.locator("#dance-x input[type=range]").dispatch_event("pointerup")
    page.wait_for_function(
        "before => { const img = document.querySelector('#dance-figure img'); return img && img.src !== before; }",
        arg=before,
        timeout=60_000,
    )
    context.close()


def test_the_frame_d_sees_fake_and_real_apart_under_batch_norm_and_together_otherwise(tmp_path):
    """`--norm batch` would mix the fake and real frames' statistics in one stacked D forward: the Dance method then
    judges them in two forwards, as pix2pixHD does (one shared function), and `--no_stacked_discriminator` is heard."""
    root = write_sequence(tmp_path / "seq", {"train": 3, "test": 2})
    accelerator = Accelerator(cpu=True)
    for flags, stacked in (([], True), (["--norm", "batch"], False), (["--no_stacked_discriminator"], False)):
        args, recipe = tiny_method("--dataset", str(root), "--preprocess", "none", "--lambda_temporal", "0", *flags)
        method = EverybodyDanceNow()
        data = method.load_data(args, recipe)
        torch.manual_seed(0)
        state = method.build(recipe, data, args)
        assert state.extras["stack_discriminator"] is stacked
        batch = collate_frame_pairs([data.train[0]])
        fake = torch.rand_like(batch["target"]) * 2 - 1
        frames = [(batch["source"], fake, batch["target"])]
        losses = method.frame_losses(accelerator, state, recipe, frames)
        discriminator = state.modules["discriminator"]
        real_pair, fake_pair = (torch.cat([batch["source"], image], 1) for image in (batch["target"], fake))
        real_alone = discriminator(real_pair)
        assert torch.allclose(losses["D_real"], lsgan_real_term(real_alone), rtol=1e-4)
        real_stacked = [
            [feature[1:] for feature in scale] for scale in discriminator(torch.cat([fake_pair, real_pair]))
        ]
        mixed = not torch.allclose(lsgan_real_term(real_stacked), lsgan_real_term(real_alone), rtol=1e-4)
        assert mixed is ("--norm" in flags)  # stacking changes the verdict under batch norm only


def lsgan_real_term(verdicts: list[list[torch.Tensor]]) -> torch.Tensor:
    """LSGAN's loss for "real" on each scale's last map, summed over scales (pix2pixHD's multi-scale D)."""
    return sum(((scale[-1] - 1) ** 2).mean() for scale in verdicts)
