"""pix2pixHD: its networks on the Hub and from reference checkpoints, its losses, and `--method pix2pixhd` end to end
(non-square images, the pipeline in both backends, the two coarse-to-fine stages, kill-and-resume).

The networks are tiny (ngf 4-8, two downsamplings, one or two residual blocks) on 64x32 images, so every run takes
seconds on two shared cores; the code paths are the full-width ones.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from accelerate import Accelerator
from PIL import Image
from safetensors.torch import load_file, save_file

from pix2pix_hub import Pix2PixGenerator, Pix2PixPipeline, convert
from pix2pix_hub.data import Preprocessing
from pix2pix_hub.images import image_to_tensor
from pix2pix_hub.methods.base import recipe_from_args
from pix2pix_hub.methods.pix2pixhd import PAPER, ClassIndexMaps, Pix2PixHD, Pix2PixHDRecipe, card_description
from pix2pix_hub.networks import MultiscaleDiscriminator, list_discriminators, list_generators
from pix2pix_hub.networks.pix2pixhd import VGG19Features, instance_boundaries
from pix2pix_hub.training.arguments import parse_args
from pix2pix_hub.training.checkpoints import list_checkpoints
from tests.reference_cases import load_case
from tests.test_training import kill_after_first_checkpoint
from tests.test_training import train as run_trainer

REPO = Path(__file__).resolve().parent.parent
# height 32 x width 64 pairs, scaled by width as the reference's default --resize_or_crop scale_width
TINY = ["--method", "pix2pixhd", "--ndf", "8", "--n_downsample_global", "2", "--n_blocks_global", "1"]
TINY += ["--n_blocks_local", "1", "--preprocess", "scale_width", "--load_size", "64", "--crop_size", "64"]
QUIET = ["--report_to", "none", "--mixed_precision", "no", "--eval_steps", "0", "--checkpointing_steps", "0"]
LOCAL_OPTIONS = {"n_downsample_global": 2, "n_blocks_global": 1, "n_local_enhancers": 1, "n_blocks_local": 1}


def train(*flags: str) -> subprocess.CompletedProcess:
    """The trainer as a user runs it, on tiny pix2pixHD networks; returns the finished process."""
    return run_trainer(*flags, tiny=TINY)


def write_wide_pairs(root: Path, train: int = 4, test: int = 2) -> Path:
    """A/ and B/ folders of 64x32 (width x height) smooth pictures; B is A inverted."""
    for split, count in (("train", train), ("test", test)):
        for side in "AB":
            (root / side / split).mkdir(parents=True, exist_ok=True)
        for index in range(count):
            coarse = np.random.default_rng(index + 100 * (split == "test")).integers(0, 256, (4, 8, 3), np.uint8)
            a = np.asarray(Image.fromarray(coarse).resize((64, 32), Image.Resampling.BICUBIC))
            Image.fromarray(a).save(root / "A" / split / f"{index}.png")
            Image.fromarray(255 - a).save(root / "B" / split / f"{index}.png")
    return root


def tiny_local(in_channels: int = 3, **options) -> Pix2PixGenerator:
    return Pix2PixGenerator("local", in_channels, 3, 4, "instance", False, arch_options=LOCAL_OPTIONS | options)


def test_the_networks_are_registered_by_the_reference_names():
    assert {"global", "local"} <= set(list_generators()) and "multiscale" in list_discriminators()


@pytest.mark.parametrize("arch", ["global", "local"])
def test_generators_round_trip_through_the_hub_with_their_arch_options_in_config_json(tmp_path, arch):
    options = {key: LOCAL_OPTIONS[key] for key in LOCAL_OPTIONS if arch == "local" or key.endswith("global")}
    generator = Pix2PixGenerator(arch, 3, 3, 4, "instance", False, arch_options=options)
    generator.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert (config["arch"], config["arch_options"]) == (arch, options)
    loaded = Pix2PixGenerator.from_pretrained(tmp_path).eval()
    image = torch.rand(1, 3, 32, 64) * 2 - 1
    assert torch.equal(loaded(image), generator.eval()(image))
    assert loaded.size_multiple == 2 ** (2 + (arch == "local")) and loaded.native_size[1] == 2 * loaded.native_size[0]


def test_an_arch_without_options_keeps_its_config_json_and_unknown_options_are_named(tmp_path):
    Pix2PixGenerator("unet_128", ngf=4).save_pretrained(tmp_path)
    assert "arch_options" not in json.loads((tmp_path / "config.json").read_text())
    with pytest.raises(ValueError, match="'unet_128' has no option n_blocks_global; its arch_options are: upsample"):
        Pix2PixGenerator("unet_128", ngf=4, arch_options={"n_blocks_global": 3})
    with pytest.raises(ValueError, match="no option depth; its arch_options are: .*n_blocks_local"):
        Pix2PixGenerator("local", arch_options={"depth": 3})


def reference_generator_file(tmp_path: Path, case: str) -> tuple[Path, dict[str, torch.Tensor]]:
    """A reference `latest_net_G.pth` made of a case's `init.G.*` (DataParallel-prefixed, as multi-GPU runs save)."""
    _, tensors = load_case(case)
    state = {f"module.{key[len('init.G.') :]}": value for key, value in tensors.items() if key.startswith("init.G.")}
    torch.save(state, tmp_path / "latest_net_G.pth")
    return tmp_path / "latest_net_G.pth", tensors


@pytest.mark.parametrize(
    ("case", "arch", "ngf", "options"),
    [
        ("pix2pixhd_global_G", "global", 8, {"n_downsample_global": 3, "n_blocks_global": 3}),
        (
            "pix2pixhd_local_G",
            "local",
            4,
            LOCAL_OPTIONS | {"n_downsample_global": 3, "n_blocks_global": 3, "n_blocks_local": 2},
        ),
    ],
)
def test_a_reference_checkpoint_loads_and_converts_to_a_hub_folder(tmp_path, case, arch, ngf, options):
    path, tensors = reference_generator_file(tmp_path, case)
    kwargs = {"arch": arch, "ngf": ngf, "norm": "instance", "use_dropout": False, "arch_options": options}
    generator = Pix2PixGenerator.from_reference_checkpoint(path, **kwargs)
    with torch.no_grad():
        torch.testing.assert_close(generator(tensors["input.x"]), tensors["out.G"], rtol=0, atol=1e-5)
    flags = ["--arch", arch, "--ngf", str(ngf), "--norm", "instance", "--no_dropout"]
    flags += [f"--arch_option={name}={value}" for name, value in options.items()]
    assert convert.main([str(path), "--out", str(tmp_path / "hub"), *flags]) == 0
    converted = Pix2PixGenerator.from_pretrained(tmp_path / "hub")
    assert converted.arch_options == options and torch.equal(
        converted(tensors["input.x"]), generator(tensors["input.x"])
    )
    with pytest.raises(ValueError, match="layers with weights"):  # the G1 options must be the checkpoint's
        Pix2PixGenerator.from_reference_checkpoint(path, **kwargs | {"arch_options": options | {"n_blocks_global": 1}})


def test_a_reference_discriminator_loads_from_either_layout_with_its_scales_in_order(tmp_path):
    """getIntermFeat names `scale{k}_layer{j}.0.*`, the plain layout `layer{k}.<index>.*`; scale k of num_D is
    our scales[num_D - 1 - k] (the README's naming trap), so both give the recorded full-resolution features."""
    _, tensors = load_case("pix2pixhd_multiscale_D")
    interm = {key[len("init.D.") :]: value for key, value in tensors.items() if key.startswith("init.D.")}
    conv_index = {0: 0, 1: 2, 2: 5, 3: 8, 4: 11}  # where each layer's conv sits in the reference's flat Sequential
    plain = {}
    for key, value in interm.items():
        scale_layer, _, leaf = key.partition(".0.")
        scale, layer = scale_layer.removeprefix("scale").split("_layer")
        plain[f"layer{scale}.{conv_index[int(layer)]}.{leaf}"] = value
    torch.save(plain, tmp_path / "latest_net_D.pth")
    size = {"in_channels": 6, "ndf": 8, "n_layers": 3, "norm": "instance", "num_D": 2}
    for discriminator in (
        MultiscaleDiscriminator.from_reference_state_dict(interm, **size),
        MultiscaleDiscriminator.from_reference_checkpoint(tmp_path / "latest_net_D.pth", **size),
    ):
        with torch.no_grad():
            features = discriminator(tensors["input.x"])
        for scale in range(2):
            expected = tensors[f"out.D{scale}.layer4"]
            torch.testing.assert_close(features[scale][-1], expected, rtol=0, atol=1e-5 * expected.abs().max().item())


def test_instance_boundaries_mark_both_sides_of_every_change_as_the_reference_get_edges():
    instances = torch.tensor([[0, 0, 5, 5], [0, 0, 5, 5], [7, 7, 7, 5]], dtype=torch.float32)[None, None]
    expected = torch.zeros_like(instances, dtype=torch.bool)
    for y in range(3):
        for x in range(4):
            neighbours = [(y, x + 1), (y, x - 1), (y + 1, x), (y - 1, x)]
            expected[0, 0, y, x] = any(
                0 <= ny < 3 and 0 <= nx < 4 and instances[0, 0, ny, nx] != instances[0, 0, y, x]
                for ny, nx in neighbours
            )
    assert torch.equal(instance_boundaries(instances), expected.float())


def test_label_maps_are_one_hot_encoded_in_the_generator_with_an_instance_boundary_channel():
    """label_nc: the first channel's grey level is the class; instance_edges: the last channel's ids give edges."""
    classes = torch.zeros(32, 64)
    classes[:, 20:], classes[:, 40:] = 1, 4
    instances = torch.full((32, 64), 3.0)
    instances[:, 30:] = 9
    image = torch.stack([classes, instances])[None] / 127.5 - 1  # grey levels, as image_to_tensor reads them
    generator = tiny_local(2, label_nc=5, instance_edges=True)
    encoded = generator.net.encoding(image)
    assert encoded.shape == (1, 6, 32, 64) and generator.net.global_part.stem.conv.in_channels == 6
    assert torch.equal(encoded[0, :5].argmax(0), classes.long()) and torch.equal(
        encoded[0, :5].sum(0), torch.ones(32, 64)
    )
    assert torch.equal(encoded[0, 5].nonzero()[:, 1].unique(), torch.tensor([29, 30]))
    assert generator(image).shape == (1, 3, 32, 64)


def test_the_label_encoding_exports_to_onnx_with_the_network():
    """One-hot classes and instance edges are ops of the graph, so the fast CPU path runs label-map models too."""
    generator = tiny_local(2, label_nc=5, instance_edges=True)
    indices = torch.cat([torch.randint(0, 5, (1, 1, 32, 64)), torch.randint(0, 3, (1, 1, 32, 64))], 1)
    inputs = indices.float() / 127.5 - 1
    fast, plain = (Pix2PixPipeline(generator, image_size=(32, 64), backend=b) for b in ("onnxruntime", "torch"))
    torch.testing.assert_close(
        fast.runner.run({"source": inputs}), plain.runner.run({"source": inputs}), rtol=0, atol=1e-4
    )


def test_class_index_maps_keep_their_indices_through_the_shared_resizing():
    """PIL resizes palette images nearest-neighbour: no blended, spurious classes appear at class borders."""

    class Maps:
        def __len__(self):
            return 1

        def load(self, index):
            labels = np.zeros((30, 60), np.uint8)
            labels[:, 20:] = 3
            labels[10:, 45:] = 17
            return Image.fromarray(labels), Image.new("RGB", (60, 30))

        def name(self, index):
            return "map"

    source, target = ClassIndexMaps(Maps(), 20).load(0)
    resized, _ = Preprocessing("scale_width", 128, 128, flip=False)(source, target, None)
    indices = torch.round((image_to_tensor(resized, 1) + 1) * 127.5)
    assert resized.size == (128, 64) and set(indices.unique().tolist()) == {0.0, 3.0, 17.0}
    with pytest.raises(ValueError, match="class index 17, but --label_nc is 10"):
        ClassIndexMaps(Maps(), 10).load(0)


def tiny_state(*flags: str):
    args = parse_args(["--method", "pix2pixhd", "--dataset", "unused", *TINY[2:], "--ngf", "4", *flags])
    recipe = recipe_from_args(Pix2PixHDRecipe, args)
    torch.manual_seed(0)
    return recipe, Pix2PixHD().build_networks(recipe, (3, 3), args)


def test_feature_matching_adds_exactly_its_weighted_term_to_the_generator_loss():
    label, real, fake = (torch.rand(1, 3, 32, 64) * 2 - 1 for _ in range(3))
    accelerator, runs = Accelerator(cpu=True), {}
    for name, flags in {"on": [], "off": ["--no_ganFeat_loss"], "double": ["--lambda_feat", "20"]}.items():
        recipe, state = tiny_state(*flags)
        runs[name] = Pix2PixHD.losses(accelerator, state, recipe, label, real, fake)
    on, off, double = runs["on"], runs["off"], runs["double"]
    assert off["G_GAN_Feat"] == 0 and torch.equal(on["G_GAN"], off["G_GAN"]) and torch.equal(off["G"], off["G_GAN"])
    assert on["G_GAN_Feat"] > 0 and torch.allclose(on["G"], on["G_GAN"] + on["G_GAN_Feat"])
    torch.testing.assert_close(double["G_GAN_Feat"], 2 * on["G_GAN_Feat"])
    # by hand: 1/num_D per scale, 4/(n_layers_D+1) per layer, L1 of every feature but the logits, times lambda_feat
    discriminator = tiny_state()[1].modules["discriminator"]
    with torch.no_grad():
        pred_fake, pred_real = discriminator(torch.cat([label, fake], 1)), discriminator(torch.cat([label, real], 1))
    pairs = [(f, r) for fs, rs in zip(pred_fake, pred_real, strict=True) for f, r in zip(fs[:-1], rs[:-1], strict=True)]
    by_hand = sum(0.5 * 1.0 * (f - r).abs().mean() * 10 for f, r in pairs)
    torch.testing.assert_close(on["G_GAN_Feat"], by_hand)
    assert torch.equal(on["D"], (on["D_fake"] + on["D_real"]) * 0.5)


def test_the_defaults_are_the_reference_train_options_and_its_flag_names_are_accepted():
    assert (PAPER.generator_arch, PAPER.ngf, PAPER.n_downsample_global, PAPER.n_blocks_global) == ("global", 64, 4, 9)
    assert (PAPER.n_local_enhancers, PAPER.n_blocks_local, PAPER.num_D, PAPER.n_layers_discriminator) == (1, 3, 2, 3)
    assert (PAPER.ndf, PAPER.norm, PAPER.gan_mode, PAPER.lambda_feat, PAPER.gan_feat_loss) == (
        64,
        "instance",
        "lsgan",
        10.0,
        True,
    )
    assert (PAPER.learning_rate, PAPER.adam_beta1, PAPER.epochs, PAPER.decay_epochs) == (2e-4, 0.5, 100, 100)
    assert (PAPER.preprocess, PAPER.load_size, PAPER.crop_size, PAPER.label_nc, PAPER.vgg_weights) == (
        "scale_width",
        1024,
        512,
        0,
        "",
    )
    reference = "--no_lsgan --niter 3 --niter_decay 4 --resize_or_crop crop --loadSize 8 --fineSize 8 --batchSize 2"
    args = parse_args(["--method", "pix2pixhd", "--dataset", "x", *reference.split(), "--no_vgg_loss"])
    assert (args.gan_mode, args.epochs, args.decay_epochs, args.preprocess) == ("vanilla", 3, 4, "crop")
    assert (args.load_size, args.crop_size, args.batch_size, args.vgg_weights) == (8, 8, 2, "")
    with pytest.raises(SystemExit):
        parse_args(["--method", "pix2pixhd", "--dataset", "x", "--niter_fix_global", "2"])  # global G: nothing to fix


def test_vgg_weights_from_a_file_add_the_perceptual_term(tmp_path):
    torch.manual_seed(0)
    weights = VGG19Features().state_dict() | {"classifier.0.weight": torch.zeros(2, 2)}  # as torchvision's vgg19
    save_file(weights, tmp_path / "vgg19.safetensors")
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, tmp_path / "partial.pth")
    label, real, fake = (torch.rand(1, 3, 32, 64) * 2 - 1 for _ in range(3))
    recipe, state = tiny_state("--vgg_weights", str(tmp_path / "vgg19.safetensors"))
    losses = Pix2PixHD.losses(Accelerator(cpu=True), state, recipe, label, real, fake)
    assert losses["G_VGG"] > 0 and torch.allclose(losses["G"], losses["G_GAN"] + losses["G_GAN_Feat"] + losses["G_VGG"])
    assert "VGG perceptual loss used (VGG19 weights from `vgg19.safetensors`)" in card_description(asdict(recipe))
    with pytest.raises(ValueError, match="partial.pth: not VGG19 weights in torchvision's layout"):
        tiny_state("--vgg_weights", str(tmp_path / "partial.pth"))


@pytest.fixture(scope="module")
def global_run(tmp_path_factory) -> Path:
    """The first stage: the global generator on the wide pairs, to a Hub folder."""
    root = tmp_path_factory.mktemp("hd")
    data, out = write_wide_pairs(root / "pairs"), root / "global"
    run = train(
        "--dataset", str(data), "--ngf", "8", "--epochs", "1", "--decay_epochs", "1", *QUIET, "--output_dir", str(out)
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return out


def test_label_maps_of_class_indices_train_with_label_nc(tmp_path):
    root = write_wide_pairs(tmp_path / "pairs", train=2, test=1)
    for path in (root / "A").rglob("*.png"):  # sources become maps of classes 0-2
        Image.fromarray((np.asarray(Image.open(path).convert("L")) // 86).astype(np.uint8)).save(path)
    out = tmp_path / "labels"
    run = train(
        "--dataset",
        str(root),
        "--ngf",
        "4",
        "--label_nc",
        "3",
        "--max_train_steps",
        "2",
        *QUIET,
        "--output_dir",
        str(out),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    config = json.loads((out / "config.json").read_text())
    assert config["in_channels"] == 1 and config["arch_options"]["label_nc"] == 3
    colours = write_wide_pairs(tmp_path / "colours", 2, 1)
    run = train("--dataset", str(colours), "--label_nc", "3", *QUIET, "--output_dir", str(tmp_path / "refused"))
    assert run.returncode != 0 and "holds colours; train colour label maps with --label_nc 0" in run.stderr


def test_a_global_run_writes_a_hub_folder_the_pipeline_runs_at_its_height_and_width(global_run):
    config = json.loads((global_run / "config.json").read_text())
    assert config["arch_options"] == {"n_downsample_global": 2, "n_blocks_global": 1}
    assert config["image_size"] == [32, 64]  # trained and scored at 64x32, not the arch's native 1024x512
    card = (global_run / "README.md").read_text()
    assert "pix2pixHD" in card and "VGG perceptual loss not used (no VGG19 weights were given)" in card
    training = json.loads((global_run / "training.json").read_text())
    assert training["method"] == "pix2pixhd" and training["steps"] == 8
    pipes = [Pix2PixPipeline.from_pretrained(global_run, backend=backend) for backend in ("onnxruntime", "torch")]
    inputs = image_to_tensor(Image.open(global_run.parent / "pairs" / "A" / "test" / "0.png"))[None]
    torch.testing.assert_close(
        pipes[0].runner.run({"source": inputs}), pipes[1].runner.run({"source": inputs}), rtol=0, atol=1e-4
    )
    output = pipes[0](Image.open(global_run.parent / "pairs" / "A" / "test" / "1.png"))
    assert output.size == (64, 32) and pipes[0].image_size == (32, 64)


def generator_weights(folder: Path, prefix: str) -> dict[str, torch.Tensor]:
    """A checkpoint's (or Hub folder's) generator tensors under `prefix`, with the prefix removed."""
    return {
        key.removeprefix(prefix): value
        for key, value in load_file(folder / "model.safetensors").items()
        if key.startswith(prefix)
    }


def test_the_local_stage_starts_from_the_global_run_and_keeps_it_fixed_for_niter_fix_global_epochs(
    global_run, tmp_path
):
    out = tmp_path / "local"
    flags = ["--netG", "local", "--ngf", "4", "--load_pretrain", str(global_run), "--niter_fix_global", "1"]
    common = [
        "--dataset",
        str(global_run.parent / "pairs"),
        "--epochs",
        "2",
        "--decay_epochs",
        "0",
        "--report_to",
        "none",
    ]
    run = train(*flags, *common, "--eval_steps", "0", "--checkpointing_steps", "1", "--output_dir", str(out))
    assert run.returncode == 0, run.stderr[-3000:]
    pretrained = {
        key: value for key, value in generator_weights(global_run, "net.").items() if not key.startswith("head.")
    }
    steps = {int(folder.name.split("-")[1]): folder for folder in list_checkpoints(out)}
    assert sorted(steps) == list(range(1, 9))  # 4 pairs: epoch 1 is steps 1-4
    for step, folder in steps.items():
        global_part = generator_weights(folder, "net.global_part.")
        unchanged = global_part.keys() == pretrained.keys() and all(
            torch.equal(global_part[k], pretrained[k]) for k in pretrained
        )
        assert unchanged == (step <= 4), f"step {step}: the global part is {'un' if unchanged else ''}changed"
    enhancer_before, enhancer_after = (generator_weights(steps[s], "net.enhancers.") for s in (1, 2))
    assert any(not torch.equal(enhancer_before[k], enhancer_after[k]) for k in enhancer_before)
    assert "G1 initialised from" in (out / "README.md").read_text()


def test_the_local_stage_killed_after_a_checkpoint_resumes_to_the_same_weights(global_run, tmp_path):
    """The kill lands before or after the global generator joins (step 8): either way, the optimizer restarts once."""
    flags = ["--netG", "local", "--ngf", "4", "--load_pretrain", str(global_run), "--niter_fix_global", "2"]
    flags += ["--dataset", str(global_run.parent / "pairs"), "--epochs", "50", "--decay_epochs", "50"]
    flags += ["--report_to", "none", "--mixed_precision", "no", "--eval_steps", "0"]
    killed = tmp_path / "killed"
    resumed_from = int(kill_after_first_checkpoint([*TINY, *flags], killed, 2).name.split("-")[1])
    final_step = resumed_from + 8

    resume = ["--resume_from_checkpoint", "latest", "--checkpointing_steps", "0", "--max_train_steps", str(final_step)]
    resumed = train(*flags, "--output_dir", str(killed), *resume)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resumed from {killed / f'checkpoint-{resumed_from}'} at step {resumed_from}" in resumed.stderr
    straight = tmp_path / "straight"
    run = train(
        *flags, "--output_dir", str(straight), "--checkpointing_steps", "0", "--max_train_steps", str(final_step)
    )
    assert run.returncode == 0, run.stderr[-3000:]
    expected, actual = load_file(straight / "model.safetensors"), load_file(killed / "model.safetensors")
    assert expected.keys() == actual.keys() and all(torch.equal(expected[k], actual[k]) for k in expected)


def write_instance_maps(data: Path) -> Path:
    """16-bit instance-id maps (Cityscapes style: class * 1000 + instance) beside the wide pairs, one per pair."""
    for path in (data / "A").rglob("*.png"):
        ids = np.full((32, 64), 26001, np.uint16)
        ids[:, 40:] = 26002  # two cars meet at x = 40
        ids[:8] = 7000  # road above them
        (data / "inst" / path.parent.name).mkdir(parents=True, exist_ok=True)
        Image.fromarray(ids).save(data / "inst" / path.parent.name / path.name)
    return data / "inst"


def test_instance_maps_join_the_source_as_a_channel_whose_boundaries_the_generator_reads(tmp_path):
    from pix2pix_hub.data import PairedImageDataset, load_splits
    from pix2pix_hub.data.instances import InstanceMaps
    from pix2pix_hub.data.preprocessing import Preprocessing
    from pix2pix_hub.data.sources import DataSpec

    data = write_wide_pairs(tmp_path / "pairs", train=2, test=1)
    instances = write_instance_maps(data)
    train_pairs, _, _ = load_splits(DataSpec(str(data)))
    dataset = PairedImageDataset(
        InstanceMaps(train_pairs, instances),
        Preprocessing("scale_width", load_size=96, crop_size=32),
        (4, 3),
        augment=False,
    )
    source = dataset[0]["source"]
    assert source.shape == (4, 48, 96)  # resized 1.5x: the ids stay three distinct values (nearest neighbour)
    assert len(source[3].unique()) == 3 and (source[3, 12:, 59] != source[3, 12:, 61]).all()
    out = tmp_path / "with_instances"
    run = train("--dataset", str(data), "--ngf", "4", "--instance_maps", str(instances), "--max_train_steps", "2",
                *QUIET, "--output_dir", str(out))  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    config = json.loads((out / "config.json").read_text())
    assert config["in_channels"] == 4 and config["arch_options"]["instance_edges"] is True
    (instances / "train" / "0.png").unlink()
    run = train("--dataset", str(data), "--instance_maps", str(instances), *QUIET, "--output_dir", str(tmp_path / "x"))
    assert run.returncode != 0 and f"no instance map {instances / 'train' / '0'}.*" in run.stderr


def test_one_training_step_updates_every_parameter_of_both_networks():
    recipe, state = tiny_state()
    networks = {name: state.modules[name] for name in ("generator", "discriminator")}
    before = {name: [p.detach().clone() for p in net.parameters()] for name, net in networks.items()}
    batch = {"source": torch.rand(1, 3, 32, 64) * 2 - 1, "target": torch.rand(1, 3, 32, 64) * 2 - 1}
    Pix2PixHD().training_step(Accelerator(cpu=True), state, batch, recipe)
    for name, net in networks.items():
        unchanged = [
            i for i, (old, new) in enumerate(zip(before[name], net.parameters(), strict=True)) if torch.equal(old, new)
        ]
        assert not unchanged, f"{name}: parameters {unchanged} did not change in a training step"
