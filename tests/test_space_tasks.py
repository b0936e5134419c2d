"""The Space's task list: names, palettes, examples, and where each task's weights come from."""

import importlib.util
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub import constants
from PIL import Image
from setuptools.config.pyprojecttoml import read_configuration

from pix2pix_hub import Pix2PixGenerator, Pix2PixPipeline
from pix2pix_hub.edges import edge_f_score, edge_mask
from pix2pix_hub.images import image_to_tensor
from pix2pix_hub.palettes import CITYSCAPES_CLASSES, CITYSCAPES_VOID
from space.tasks import EXAMPLES_DIR, TASKS, WEIGHTS_DIR, get_task, hub_online
from tests.bicyclegan_models import write_tiny_bicyclegan

REPO_ROOT = Path(__file__).resolve().parent.parent

REFERENCE_TASKS = (
    "facades_label2photo",
    "sat2map",
    "map2sat",
    "edges2shoes",
    "cityscapes_label2photo",
    "cityscapes_photo2label",
)


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny")
    Pix2PixGenerator(ngf=4).save_pretrained(folder)
    return folder


def test_every_reference_pretrained_model_name_is_a_task_with_its_description():
    for name in REFERENCE_TASKS:
        task = get_task(name)
        assert task.name == name
        assert task.title and task.description and "→" in task.direction
        assert task.input_kind in ("labels", "edges", "photo", "grayscale")
        assert task.hub_repo_id.count("/") == 1
        assert task.bundled_dir.name == name


def test_the_app_lists_only_tasks_whose_weights_it_bundles():
    for task in TASKS.values():
        assert (task.bundled_dir / task.weights_file).is_file(), f"{task.name}: no weights in {task.bundled_dir}"
    assert "edges2handbags" not in TASKS and "day2night" not in TASKS  # no data here: bring your own weights


def _label_map_share(image: Image.Image) -> float:
    """How much of an image is within JPEG noise of a Cityscapes label colour (a label map: most of it)."""
    palette = np.array([label.color for label in CITYSCAPES_CLASSES + CITYSCAPES_VOID])
    pixels = np.asarray(image.convert("RGB"), dtype=int).reshape(-1, 1, 3)
    return float((np.abs(pixels - palette[None]).sum(-1).min(-1) < 12).mean())


def test_cityscapes_examples_go_from_label_map_to_photo_and_back():
    to_photo, to_labels = get_task("cityscapes_label2photo").examples, get_task("cityscapes_photo2label").examples
    label_maps = [example.input for example in to_photo] + [example.target for example in to_labels]
    photos = [example.target for example in to_photo] + [example.input for example in to_labels]
    assert all(_label_map_share(Image.open(path)) > 0.6 for path in label_maps), label_maps
    assert all(_label_map_share(Image.open(path)) < 0.1 for path in photos), photos


def test_edges2shoes_examples_are_edge_maps_of_their_shoe_photos():
    task = get_task("edges2shoes")
    assert task.train_direction == "BtoA" and task.input_kind == "edges" and task.edges_from_photo
    masks = [np.asarray(Image.open(example.input).convert("L")) < 128 for example in task.examples]
    for index, example in enumerate(task.examples):
        drawn = edge_mask(Image.open(example.target))  # edges drawn from the photo, in the data's style
        own, other = edge_f_score(drawn, masks[index]), edge_f_score(drawn, masks[index - 1])
        assert own["f_score"] > 0.5 and own["f_score"] > other["f_score"] + 0.15, example.input


def test_every_label_task_starts_with_a_brush_that_shows_on_its_background():
    for task in TASKS.values():
        if task.input_kind == "labels":
            brush, background = np.array(task.starting_brush.color), np.array(task.background)
            assert np.abs(brush - background).sum() > 60, task.name
    assert get_task("facades_label2photo").starting_brush.name == "window"  # "facade" hardly shows on background
    assert get_task("cityscapes_label2photo").starting_brush.name == "road"


def test_the_space_sits_beside_its_examples_and_weights_and_outside_the_library_wheel():
    assert EXAMPLES_DIR.is_dir() and (WEIGHTS_DIR / "facades_label2photo").is_dir()
    assert importlib.util.find_spec("pix2pix_hub.tasks") is None
    packaged = read_configuration(REPO_ROOT / "pyproject.toml")["tool"]["setuptools"]["packages"]  # the wheel's
    assert "pix2pix_hub" in packaged
    assert not [name for name in packaged if name.split(".")[0] == "space"]


def test_an_unknown_task_name_is_refused_with_the_names_that_exist():
    with pytest.raises(ValueError, match="unknown task 'facade'.*facades_label2photo.*sat2map"):
        get_task("facade")


def test_label_tasks_have_a_named_palette_with_distinct_colours_and_others_draw_on_white():
    for task in TASKS.values():
        if task.input_kind == "labels":
            colors = [label.color for label in task.palette]
            assert len(set(colors)) == len(colors), task.name
            assert all(label.name for label in task.palette)
            assert task.background == task.palette[0].color
        else:
            assert task.background == (255, 255, 255)


def test_examples_of_paired_tasks_are_files_with_their_ground_truth():
    for task in TASKS.values():
        for example in task.examples:
            if task.paired:
                assert Image.open(example.input).size == Image.open(example.target).size
            else:  # unpaired data has no ground truth
                assert example.target is None and Image.open(example.input).size[0] > 0


def test_both_directions_of_a_cyclegan_are_tasks_on_one_weights_folder_without_a_sketch_tab():
    forward, backward = get_task("apple2orange"), get_task("orange2apple")
    assert forward.bundled_dir == backward.bundled_dir == WEIGHTS_DIR / "apple2orange"
    assert (forward.subfolder, backward.subfolder) == ("AtoB", "BtoA")
    assert forward.hub_repo_id == backward.hub_repo_id == "pix2pix-hub/cyclegan-apple2orange"
    assert forward.weights_file == "AtoB/model.safetensors"
    assert "CycleGAN" in forward.paper and not forward.sketchable and get_task("facades_label2photo").sketchable
    assert "--method cyclegan" in forward.how_to_get_weights()


def test_an_environment_variable_points_a_task_at_any_folder(tiny_model_dir, monkeypatch):
    task = get_task("edges2shoes")
    monkeypatch.setenv(task.override_env, str(tiny_model_dir))
    assert task.model_sources() == [str(tiny_model_dir)]
    assert task.has_local_weights()
    pipeline = task.load_pipeline(device="cpu")
    assert isinstance(pipeline, Pix2PixPipeline)
    image = Image.new("RGB", (256, 256), (30, 200, 90))
    expected = Pix2PixGenerator.from_pretrained(tiny_model_dir).eval()(image_to_tensor(image)[None])[0]
    assert torch.allclose(pipeline.runner.run({"source": image_to_tensor(image)[None]})[0], expected, atol=1e-4)


def test_the_bundled_folder_comes_first_offline_and_the_hub_first_online(tmp_path, monkeypatch, hub_standin):
    monkeypatch.setattr("space.tasks.WEIGHTS_DIR", tmp_path)
    task = get_task("sat2map")
    assert task.bundled_dir == tmp_path / "sat2map"
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert task.model_sources() == [task.hub_repo_id]  # no bundled folder yet
    assert not task.has_local_weights()
    Pix2PixGenerator(ngf=4).save_pretrained(task.bundled_dir)
    assert task.model_sources() == [str(task.bundled_dir), task.hub_repo_id]
    assert task.has_local_weights()
    assert isinstance(task.load_pipeline(device="cpu"), Pix2PixPipeline)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # and the loopback Hub answers
    assert hub_online()
    assert task.model_sources() == [task.hub_repo_id, str(task.bundled_dir)]


def test_a_hub_that_does_not_answer_counts_as_offline_so_bundled_weights_load_at_once(tmp_path, monkeypatch):
    with socket.socket() as probe:  # a loopback port nobody listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        silent_endpoint = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setattr(constants, "ENDPOINT", silent_endpoint)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr("space.tasks.WEIGHTS_DIR", tmp_path)
    assert not hub_online()
    task = get_task("map2sat")
    Pix2PixGenerator(ngf=4).save_pretrained(task.bundled_dir)
    assert task.model_sources() == [str(task.bundled_dir), task.hub_repo_id]
    assert isinstance(task.load_pipeline(device="cpu"), Pix2PixPipeline)
    with pytest.raises(FileNotFoundError, match="cannot be reached .* and the local Hugging Face cache"):  # no retries
        get_task("cityscapes_photo2label").load_pipeline(device="cpu")


def test_the_hub_copy_in_the_local_cache_loads_offline(tiny_model_dir, tmp_path, monkeypatch, isolated_hf_home):
    monkeypatch.setattr("space.tasks.WEIGHTS_DIR", tmp_path)  # no bundled copy: only the cache can serve it
    task = get_task("cityscapes_photo2label")
    snapshot = isolated_hf_home / "hub" / f"models--{task.hub_repo_id.replace('/', '--')}" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    for name in ("model.safetensors", "config.json"):
        (snapshot / name).write_bytes((tiny_model_dir / name).read_bytes())
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("0" * 40)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert task.has_local_weights()
    assert isinstance(task.load_pipeline(device="cpu"), Pix2PixPipeline)


def test_a_task_without_weights_says_how_to_train_or_where_to_point_it(tmp_path, monkeypatch):
    monkeypatch.setattr("space.tasks.WEIGHTS_DIR", tmp_path)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    task = get_task("cityscapes_label2photo")
    assert not task.has_local_weights()
    with pytest.raises(FileNotFoundError, match="accelerate launch train_accelerate.py.*PIX2PIX_MODEL_CITYSCAPES"):
        task.load_pipeline(device="cpu")


def test_the_bundled_cyclegan_serves_each_direction_from_its_subfolder_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    outputs = {}
    for name in ("apple2orange", "orange2apple"):
        task = get_task(name)
        assert task.model_sources()[0] == str(WEIGHTS_DIR / "apple2orange") and task.has_local_weights()
        pipe = task.load_pipeline(device="cpu")
        assert pipe.precision == "float32" and pipe.image_size == 256  # the photos' size (int8 did not hold there)
        example = Image.open(task.examples[0].input)
        outputs[name] = pipe(example)
        assert outputs[name].size == example.size
    apple_to_orange = get_task("apple2orange").load_pipeline(device="cpu")
    orange = Image.open(get_task("orange2apple").examples[0].input)
    assert apple_to_orange(orange).tobytes() != outputs["orange2apple"].tobytes()  # two directions, two networks


def test_the_bicyclegan_task_loads_its_bundled_folder_with_the_encoder_and_gives_many_outputs(tmp_path, monkeypatch):
    monkeypatch.setattr("space.tasks.WEIGHTS_DIR", tmp_path)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    task = get_task("edges2shoes_bicyclegan")
    assert task.bundled_dir == tmp_path / "edges2shoes_bicyclegan" and task.variations and task.paired
    assert task.input_kind == "edges" and task.edges_from_photo and task.paper.startswith("BicycleGAN")
    assert not task.has_local_weights()
    hint = (
        "--method bicyclegan --dataset EDGES2SHOES_PAIRS --direction BtoA --output_dir weights/edges2shoes_bicyclegan"
    )
    assert hint in task.how_to_get_weights()  # paired data, as pix2pix's; CycleGAN's are two domains
    assert "--dataset APPLE2ORANGE_DOMAINS" in get_task("apple2orange").how_to_get_weights()
    write_tiny_bicyclegan(task.bundled_dir)
    assert task.has_local_weights()
    pipe = task.load_pipeline(device="cpu")
    edges = Image.open(task.examples[0].input)
    assert pipe.encoder is not None and len(pipe(edges, num_samples=3, seed=0)) == 3
    assert not any(get_task(name).variations for name in ("edges2shoes", "facades_label2photo", "apple2orange"))
