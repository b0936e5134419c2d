"""The real app on a loopback port: driven by `gradio_client` (every task, every kind of bad input) and by Chromium."""

import io
import itertools
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import torch
from gradio_client import Client, handle_file
from PIL import Image, ImageDraw

from pix2pix_hub import Pix2PixGenerator, Pix2PixPipeline
from pix2pix_hub.edges import edge_f_score, edges_from_photo
from pix2pix_hub.inference.batching import SharedBatches
from pix2pix_hub.inference.multimodal import sample_codes, slerp
from pix2pix_hub.translate import main as translate_main
from space.forward import model_for
from space.handlers import ink_edges, output_size
from space.launch import start_app
from space.tasks import TASKS, get_task
from space.ui import palette_legend
from space.variations import vary_file
from tests.bicyclegan_models import NZ, write_tiny_bicyclegan

REPO_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO_ROOT / "test-artifacts"
PIX2PIX_TASKS = ("facades_label2photo", "sat2map", "map2sat")
CYCLEGAN_TASKS = ("apple2orange", "orange2apple")  # one two-direction folder, a subfolder each
WITH_WEIGHTS = PIX2PIX_TASKS + CYCLEGAN_TASKS
BUNDLED_TASKS = ("cityscapes_label2photo", "cityscapes_photo2label", "edges2shoes")  # the app's own weights/<task>
VARIATION_TASKS = ("edges2shoes_bicyclegan",)  # many outputs per input: a tiny BicycleGAN (tests/bicyclegan_models.py)
SHOES = REPO_ROOT / "tests" / "fixtures" / "edges2shoes"  # two real val pairs: shoe photo | its edge map


@dataclass
class RunningApp:
    url: str
    root: Path
    model_dir: Path
    uploads: Path
    process: subprocess.Popen
    log: Path
    bicyclegan: Path


@pytest.fixture(scope="module")
def running_app(tmp_path_factory):
    """`python app.py` as users start it, most weighted tasks pointed at a tiny model through the env var (the
    BUNDLED_TASKS load their weights/ folders)."""
    root = tmp_path_factory.mktemp("app")
    bicyclegan = write_tiny_bicyclegan(root / "bicyclegan")
    torch.manual_seed(0)
    Pix2PixGenerator(ngf=8).save_pretrained(root / "tiny")
    for direction in ("AtoB", "BtoA"):
        Pix2PixGenerator("resnet_6blocks", ngf=4, norm="instance", use_dropout=False).save_pretrained(
            root / "cyclegan" / direction
        )
    env = {
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(root / "hf"),
        "GRADIO_TEMP_DIR": str(root / "uploads"),
        **{get_task(name).override_env: str(root / "tiny") for name in PIX2PIX_TASKS},
        **{get_task(name).override_env: str(root / "cyclegan") for name in CYCLEGAN_TASKS},
        **{get_task(name).override_env: str(bicyclegan) for name in VARIATION_TASKS},
    }
    log = root / "app.log"
    process, url = start_app(env, log, timeout=180)
    yield RunningApp(url, root, root / "tiny", root / "uploads", process, log, bicyclegan)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


@pytest.fixture(scope="module")
def client(running_app):
    downloads = str(running_app.root / "downloads")
    return Client(running_app.url, verbose=False, download_files=downloads, analytics_enabled=False)


@pytest.fixture(scope="module")
def expected_pipelines(running_app):
    """What each weighted task's model gives through the library, loaded as a user would."""
    pipelines = {name: Pix2PixPipeline.from_pretrained(running_app.model_dir, device="cpu") for name in PIX2PIX_TASKS}
    cyclegan = running_app.root / "cyclegan"
    bundled = {name: get_task(name).load_pipeline(device="cpu") for name in BUNDLED_TASKS}
    return (
        pipelines
        | bundled
        | {
            name: Pix2PixPipeline.from_pretrained(cyclegan, device="cpu", subfolder=get_task(name).subfolder)
            for name in CYCLEGAN_TASKS
        }
    )


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def _translate(client: Client, task: str, path: Path) -> Image.Image:
    return Image.open(client.predict(task, handle_file(str(path)), api_name="/translate"))


# --- gradio_client ---------------------------------------------------------------------------------------------


def test_every_task_with_weights_translates_through_the_api_exactly_as_the_pipeline(client, expected_pipelines):
    for name in WITH_WEIGHTS:
        example = get_task(name).examples[0]
        path = client.predict(name, handle_file(str(example.input)), api_name="/translate")
        assert Path(path).name == f"{example.input.stem}-{name}.png"  # a download named after input and task
        output = Image.open(path)
        expected = expected_pipelines[name](Image.open(example.input))
        assert output.size == expected.size == (256, 256)
        assert np.abs(_pixels(output) - _pixels(expected)).max() <= 1, name


def test_the_bundled_tasks_translate_through_the_api_as_their_weights_do_up_to_dropout_noise(
    client, expected_pipelines
):
    assert set(WITH_WEIGHTS + BUNDLED_TASKS + VARIATION_TASKS) == set(TASKS)  # every task of the app is tested
    for name in BUNDLED_TASKS:  # the paper's inference mode: dropout draws new noise on every call
        example, other = get_task(name).examples[:2]
        output = _pixels(_translate(client, name, example.input))
        pipeline = expected_pipelines[name]
        draws = [_pixels(pipeline(Image.open(example.input), seed=seed)) for seed in (0, 1)]
        noise = np.abs(draws[0] - draws[1]).mean()
        assert output.shape == draws[0].shape == (256, 256, 3)
        assert np.abs(output - draws[0]).mean() < 2 * noise + 1, name  # this model on this input
        assert np.abs(_pixels(pipeline(Image.open(other.input), seed=0)) - draws[0]).mean() > 3 * noise + 1, name


def test_a_task_without_weights_answers_with_how_to_train_or_point_it_and_logs_it_once(tmp_path, monkeypatch, capsys):
    task = get_task("edges2shoes")
    monkeypatch.setenv(task.override_env, str(tmp_path / "no-such-run"))  # as on a clone without its weights
    for _ in range(2):
        with pytest.raises(
            gr.Error, match=f"No weights for Edges → shoes yet.*train_accelerate.py.*{task.override_env}"
        ):
            model_for(task)
    assert capsys.readouterr().out.count("no weights for task 'edges2shoes'") == 1  # logged once, not per request


def test_many_ways_without_weights_answers_with_how_to_train_them(tmp_path, monkeypatch):
    task = get_task("edges2shoes_bicyclegan")
    monkeypatch.setenv(task.override_env, str(tmp_path / "no-such-run"))  # as before weights/ holds the model
    with pytest.raises(
        gr.Error, match=r"No weights for Sketch → shoes, many ways \(BicycleGAN\) yet.*--method bicycle"
    ):
        vary_file(task.name, {"path": str(task.examples[0].input)}, 3, 0)


def test_edges_from_a_real_shoe_photo_are_drawn_like_the_data_and_translated_through_the_api(
    client, expected_pipelines, tmp_path
):
    pair = Image.open(SHOES / "1_AB.jpg").convert("RGB")
    photo = _save(pair.crop((0, 0, 256, 256)), tmp_path / "shoe.png")
    pipeline = expected_pipelines["edges2shoes"]
    output = _pixels(
        Image.open(client.predict("edges2shoes", handle_file(str(photo)), False, True, api_name="/translate"))
    )
    from_edges = [_pixels(pipeline(edges_from_photo(Image.open(photo)), seed=seed)) for seed in (0, 1)]
    noise = np.abs(from_edges[0] - from_edges[1]).mean()  # dropout at test time, as in the paper
    assert output.shape == from_edges[0].shape == (256, 256, 3)
    assert np.abs(output - from_edges[0]).mean() < 2 * noise + 1
    unticked = _pixels(Image.open(client.predict("edges2shoes", handle_file(str(photo)), api_name="/translate")))
    from_photo = _pixels(pipeline(Image.open(photo), seed=0))  # unticked, the photo itself is the input
    assert np.abs(unticked - from_photo).mean() < 2 * noise + 1


def test_the_console_promises_no_share_link_and_no_latency_summary_is_served(running_app):
    log = running_app.log.read_text()
    assert f"pix2pix app on {running_app.url} (no share link" in log and "share=True" not in log
    with pytest.raises(urllib.error.HTTPError, match="403"):  # Gradio's summary said "p50 0 ms" after a failure
        urllib.request.urlopen(running_app.url + "monitoring/summary")


def test_a_photo_task_without_a_palette_is_named_with_the_right_article():
    assert "translates an aerial photo:" in palette_legend(get_task("sat2map"))
    assert "translates a street photo:" in palette_legend(get_task("cityscapes_photo2label"))


def test_an_unknown_task_is_refused_by_name(client):
    with pytest.raises(Exception, match="unknown task 'edges2cats'; choose one of facades_label2photo"):
        _translate(client, "edges2cats", get_task("sat2map").examples[0].input)


# --- Many ways: variations of one input (a tiny BicycleGAN) --------------------------------------------------------

EDGE_MAP = get_task("edges2shoes_bicyclegan").examples[0].input  # a shoe's edges, as a sketch is inked
SHOE_PHOTO = get_task("edges2shoes_bicyclegan").examples[0].target  # the photo whose edges EDGE_MAP holds


def _variations(client: Client, count: int, seed: int, style: Path | None = None) -> tuple[list[np.ndarray], list]:
    """The `/variations` gallery for EDGE_MAP: its images' pixels and captions."""
    task, edges = "edges2shoes_bicyclegan", handle_file(str(EDGE_MAP))
    gallery, made = client.predict(
        task, edges, count, seed, handle_file(str(style)) if style else None, False, api_name="/variations"
    )
    assert f"{len(gallery)} variations of 256×256 in" in made
    return [_pixels(Image.open(item["image"])) for item in gallery], [item["caption"] for item in gallery]


@pytest.fixture(scope="module")
def bicyclegan_pipeline(running_app):
    """The tiny BicycleGAN as the library loads it (ONNX Runtime on this CPU, like the app)."""
    return Pix2PixPipeline.from_pretrained(running_app.bicyclegan, device="cpu")


def test_variations_of_one_sketch_are_k_different_images_as_the_library_draws_them_from_the_seed(
    client, bicyclegan_pipeline
):
    images, labels = _variations(client, 4, seed=3)
    assert labels == ["1", "2", "3", "4"] and all(image.shape == (256, 256, 3) for image in images)
    assert min(np.abs(a - b).mean() for a, b in itertools.combinations(images, 2)) > 5  # four codes, four shoes
    expected = bicyclegan_pipeline(Image.open(EDGE_MAP), num_samples=4, seed=3)
    assert all(np.abs(image - _pixels(shoe)).max() <= 1 for image, shoe in zip(images, expected, strict=True))
    assert np.abs(_variations(client, 4, seed=4)[0][0] - images[0]).mean() > 5  # another seed, other shoes
    one = _pixels(_translate(client, "edges2shoes_bicyclegan", EDGE_MAP))  # the Upload tab: one output, any code
    assert one.shape == (256, 256, 3)


def test_a_style_photo_adds_a_first_image_in_its_look_before_the_seeds_variations(
    client, bicyclegan_pipeline, tmp_path
):
    plain, _ = _variations(client, 3, seed=3)
    red = _save(Image.new("RGB", (256, 256), (200, 30, 30)), tmp_path / "red.png")  # no shoe: a look of its own
    styled = [_variations(client, 3, seed=3, style=photo) for photo in (SHOE_PHOTO, red)]
    (images, labels), (other_images, _) = styled
    assert labels == ["1 · your photo's look", "2", "3", "4"]
    assert all(np.abs(a - b).max() <= 1 for a, b in zip(images[1:], plain, strict=True))  # the same seed's shoes
    code = bicyclegan_pipeline.encode(Image.open(SHOE_PHOTO))
    assert np.abs(images[0] - _pixels(bicyclegan_pipeline(Image.open(EDGE_MAP), z=code))).max() <= 1
    assert min(np.abs(images[0] - image).mean() for image in plain) > 5  # not one of the random codes
    assert np.abs(images[0] - other_images[0]).mean() > 5  # another photo, another look


def test_the_walk_goes_from_one_variation_to_another_through_images_between(client, bicyclegan_pipeline):
    images, _ = _variations(client, 3, seed=8)
    walked = [_pixels(Image.open(client.predict(t, 1, 3, api_name="/walk"))) for t in (0, 0.5, 1)]
    assert np.abs(walked[0] - images[0]).max() <= 1 and np.abs(walked[2] - images[2]).max() <= 1  # its two ends
    codes = sample_codes(None, 1, 3, NZ, 8, sync=True)[0]
    between = bicyclegan_pipeline(Image.open(EDGE_MAP), z=slerp(codes[0], codes[2], 0.5))
    assert np.abs(walked[1] - _pixels(between)).max() <= 1  # the code halfway along the great circle
    assert min(np.abs(walked[1] - end).mean() for end in (images[0], images[2])) > 2  # neither end
    with pytest.raises(Exception, match="The walk's last image must be a whole number from 1 to 3, got 4"):
        client.predict(0.5, 1, 4, api_name="/walk")


def test_variations_are_refused_in_plain_words_for_one_output_tasks_and_counts_out_of_range(client):
    edges = handle_file(str(EDGE_MAP))
    with pytest.raises(Exception, match="Edges → shoes: This task's model gives one output per input. Pick one"):
        client.predict("edges2shoes", edges, 4, 0, None, False, api_name="/variations")
    with pytest.raises(Exception, match="The number of variations must be a whole number from 2 to 12, got 40"):
        client.predict("edges2shoes_bicyclegan", edges, 40, 0, None, False, api_name="/variations")


def _save(image: Image.Image, path: Path, **options) -> Path:
    image.save(path, **options)
    return path


def _write(data: bytes, path: Path) -> Path:
    path.write_bytes(data)
    return path


def _gradient(size: tuple[int, int]) -> Image.Image:
    width, height = size
    x = np.linspace(0, 255, width)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height)[:, None].repeat(width, 1)
    return Image.fromarray(np.stack([x, y, 255 - x], -1).astype(np.uint8))


def _make_bad_input(kind: str, folder: Path) -> Path:
    """One file per kind of awkward upload a user can send."""
    real_jpeg = get_task("sat2map").examples[0].input
    makers = {
        "not_an_image.png": lambda path: _write(b"this is text, not pixels", path),
        "empty.jpg": lambda path: _write(b"", path),
        "truncated.jpg": lambda path: _write(real_jpeg.read_bytes()[:2000], path),
        "bomb.png": lambda path: _save(Image.new("1", (20000, 20000)), path),
        "huge_10000x10000.png": lambda path: _save(Image.new("1", (10000, 10000)), path),
        "sixteen_bit.png": lambda path: _save(
            Image.fromarray((np.arange(64 * 48).reshape(48, 64) * 20).astype(np.uint16)), path
        ),
        "cmyk.jpg": lambda path: _save(_gradient((80, 60)).convert("CMYK"), path),
        "palette.png": lambda path: _save(_gradient((100, 100)).convert("P"), path),
        "rgba.png": lambda path: _save(_gradient((64, 64)).convert("RGBA"), path),
        "grayscale.png": lambda path: _save(_gradient((64, 64)).convert("L"), path),
        "one_pixel.png": lambda path: _save(Image.new("RGB", (1, 1), (200, 10, 10)), path),
        "animated.gif": lambda path: _save(
            _gradient((64, 64)).convert("P"),
            path,
            save_all=True,
            append_images=[Image.new("P", (64, 64), 3), Image.new("P", (64, 64), 9)],
            duration=100,
        ),
        "over_the_size_limit.png": lambda path: _write(os.urandom(21 * 1024 * 1024), path),
    }
    return makers[kind](folder / kind)


REFUSED = {  # one limit, in the app's words (not PIL's, whose own error threshold is twice its warning's)
    "not_an_image.png": r"not_an_image.png: not an image file in a format we read \(PNG, JPEG, WebP",
    "empty.jpg": r"empty.jpg: the file is empty \(0 bytes\)",
    "truncated.jpg": "truncated.jpg: cannot decode image",
    "bomb.png": r"bomb.png: image is too large \(400.0 megapixels\); the limit is 89.5 megapixels",
    "huge_10000x10000.png": r"huge_10000x10000.png: image is too large \(100.0 megapixels\); the limit is 89.5 megapix",
    "over_the_size_limit.png": "(?i)exceeds|too large|413",
}
TRANSLATED = {  # input kind -> output size: the input's, as from the pipeline and the CLI
    "sixteen_bit.png": (64, 48),
    "cmyk.jpg": (80, 60),
    "palette.png": (100, 100),
    "rgba.png": (64, 64),
    "grayscale.png": (64, 64),
    "one_pixel.png": (1, 1),
    "animated.gif": (64, 64),
}


@pytest.mark.parametrize("kind", list(REFUSED))
def test_a_bad_upload_gets_a_clear_error_without_traceback_or_server_paths(kind, client, running_app, tmp_path):
    path = _make_bad_input(kind, tmp_path)
    with pytest.raises(Exception, match=REFUSED[kind]) as error:
        _translate(client, "facades_label2photo", path)
    message = str(error.value)
    assert "Traceback" not in message and str(running_app.uploads) not in message
    assert "PIL" not in message and "DOS attack" not in message


@pytest.mark.parametrize("kind", list(TRANSLATED))
def test_awkward_but_valid_images_are_translated(kind, client, tmp_path):
    output = _translate(client, "sat2map", _make_bad_input(kind, tmp_path))
    assert output.mode == "RGB" and output.size == TRANSLATED[kind]


def test_an_animated_image_is_translated_from_its_first_frame(client, tmp_path):
    animation = _make_bad_input("animated.gif", tmp_path)
    first_frame = _save(Image.open(animation).convert("RGB"), tmp_path / "first_frame.png")
    from_animation = _translate(client, "sat2map", animation)
    from_first_frame = _translate(client, "sat2map", first_frame)
    assert np.abs(_pixels(from_animation) - _pixels(from_first_frame)).max() <= 1


def test_the_server_keeps_serving_after_bad_input_and_under_concurrent_callers(client, running_app):
    inputs = [example.input for name in WITH_WEIGHTS for example in get_task(name).examples]
    one_by_one = [_pixels(_translate(client, "map2sat", path)) for path in inputs]
    # one client per caller, as separate users are: many jobs in flight on one gradio_client can lose a finished
    # one to a race in its shared event stream (a CancelledError although the server answered)
    callers = [Client(running_app.url, verbose=False) for _ in inputs]
    jobs = [
        caller.submit("map2sat", handle_file(str(path)), api_name="/translate")
        for caller, path in zip(callers, inputs, strict=True)
    ]
    for job, expected in zip(jobs, one_by_one, strict=True):
        assert np.abs(_pixels(Image.open(job.result(timeout=120))) - expected).max() <= 1
    assert running_app.process.poll() is None


def test_identical_requests_at_once_all_download_complete_images(running_app):
    # Gradio rewrites identical PIL results in place under one name; a caller could then download half a file.
    path = get_task("map2sat").examples[0].input
    expected = _pixels(_translate(Client(running_app.url, verbose=False), "map2sat", path))
    clients = [Client(running_app.url, verbose=False) for _ in range(12)]
    jobs = [c.submit("map2sat", handle_file(str(path)), api_name="/translate") for c in clients for _ in range(2)]
    for job in jobs:
        assert np.abs(_pixels(Image.open(job.result(timeout=180))) - expected).max() <= 1


# --- SharedBatches, in process -----------------------------------------------------------------------------------


def test_requests_that_arrive_during_a_forward_pass_share_the_next_one(running_app):
    pipeline = Pix2PixPipeline.from_pretrained(running_app.model_dir, device="cpu")
    shared = SharedBatches(pipeline, max_batch_size=4)
    images = [Image.open(example.input) for task in WITH_WEIGHTS for example in get_task(task).examples][:6]
    results: dict[int, Image.Image] = {}
    with shared.run_lock:  # a forward pass is "running": the six requests queue up behind it
        threads = [
            threading.Thread(target=lambda i=i: results.__setitem__(i, shared(images[i], images[i].size)))
            for i in range(6)
        ]
        for thread in threads:
            thread.start()
        while len(shared._pending) < 6:
            time.sleep(0.01)
    for thread in threads:
        thread.join(timeout=60)
    assert list(shared.batch_sizes) == [4, 2]
    for index, image in enumerate(images):
        assert np.abs(_pixels(results[index]) - _pixels(pipeline(image))).max() <= 1


def test_keep_full_resolution_translates_tiled_at_the_input_size_where_the_task_offers_it(
    client, expected_pipelines, tmp_path
):
    photo = _save(Image.open(get_task("sat2map").examples[0].input).resize((1300, 700)), tmp_path / "wide.png")
    full = Image.open(client.predict("sat2map", handle_file(str(photo)), True, api_name="/translate"))
    tiled = Pix2PixPipeline(expected_pipelines["sat2map"].generator, backend="torch", mode="tiled")(Image.open(photo))
    assert full.size == tiled.size == (1300, 700)
    assert np.abs(_pixels(full) - _pixels(tiled)).max() <= 1
    assert _translate(client, "sat2map", photo).size == (1024, 551)  # unticked: the model's size, capped output
    facades = Image.open(client.predict("facades_label2photo", handle_file(str(photo)), True, api_name="/translate"))
    assert facades.size == (1024, 551)  # label maps drawn at any size: not offered, so not applied


def test_keep_full_resolution_refuses_images_over_its_limit_in_plain_words(client, tmp_path):
    huge = _save(Image.new("RGB", (4200, 4100), (90, 120, 80)), tmp_path / "huge.png")
    with pytest.raises(
        Exception, match=r"4200×4100 \(17.2 megapixels\); full resolution here takes up to 16.8\. Untick"
    ):
        client.predict("sat2map", handle_file(str(huge)), True, api_name="/translate")


def test_outputs_have_the_inputs_size_up_to_a_long_side_of_1024():
    assert output_size((1, 1)) == (1, 1)
    assert output_size((300, 200)) == (300, 200)
    assert output_size((8000, 4000)) == (1024, 512)
    assert output_size((1, 3000)) == (1, 1024)


@pytest.mark.parametrize("kind", ["one_pixel.png", "cmyk.jpg"])
def test_the_app_and_the_command_line_give_a_small_image_the_same_output_size(kind, client, tmp_path):
    image = _make_bad_input(kind, tmp_path)
    assert translate_main([str(image), "--model", str(REPO_ROOT / "weights/sat2map"), "--out", str(tmp_path)]) == 0
    from_cli = Image.open(tmp_path / f"{image.stem}.png")
    assert _translate(client, "sat2map", image).size == from_cli.size == Image.open(image).size


@pytest.mark.parametrize("width", [2, 4])  # a thin anti-aliased line, and the app's pen (4 px on the canvas)
def test_an_edges_sketch_is_inked_like_the_data_black_one_pixel_lines_on_white_at_256(width):
    sketch = Image.new("RGB", (512, 512), "white")  # the canvas, grey where anti-aliased
    ImageDraw.Draw(sketch).line([(40, 101), (400, 101)], fill=(90, 90, 90), width=width)
    ImageDraw.Draw(sketch).line([(300, 20), (300, 480)], fill=(0, 0, 0), width=width)
    inked = np.asarray(ink_edges(sketch))
    assert inked.shape == (256, 256, 3) and set(np.unique(inked)) == {0, 255}
    lines = inked.min(-1) == 0
    assert (lines[:, 25:140].sum(0) == 1).all() and (lines[20:40].sum(1) == 1).all()  # one pixel thin, no gaps


# --- Chromium ----------------------------------------------------------------------------------------------------


@pytest.fixture
def page(browser, running_app):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(running_app.url)
    page.wait_for_selector("#upload-button")
    yield page
    context.close()


def _wait_for_image(page, selector: str, count: int = 1) -> list[str]:
    """Wait until `count` images under `selector` have decoded; return their src URLs."""
    page.wait_for_function(
        """([selector, count]) => {
            const images = [...document.querySelectorAll(selector + ' img')];
            return images.filter(img => img.complete && img.naturalWidth > 0).length >= count;
        }""",
        arg=[selector, count],
        timeout=60_000,
    )
    return page.eval_on_selector_all(f"{selector} img", "images => images.map(img => img.src)")


def _fetch_image(page, url: str) -> Image.Image:
    return Image.open(io.BytesIO(page.request.get(url).body()))


def _screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _pick_task(page, name: str) -> None:
    """Choose a task and wait until the page follows it (its card, examples and canvas come in one update)."""
    page.get_by_label("Task").click()
    page.get_by_role("option", name=get_task(name).title).click()
    page.locator("#task-card").get_by_text(get_task(name).title).wait_for(timeout=60_000)


def test_browser_upload_shows_the_output_beside_the_input_with_its_latency(page):
    page.locator("#upload-input input[type=file]").set_input_files(
        str(get_task("facades_label2photo").examples[1].input)
    )
    _wait_for_image(page, "#upload-input")
    page.click("#upload-button")
    (src,) = _wait_for_image(page, "#upload-output")
    assert _fetch_image(page, src).size == (256, 256)
    page.wait_for_function("() => document.querySelector('#latency').innerText.includes(' ms')")
    _screenshot(page, "app-upload.png")


def test_browser_bad_upload_shows_a_message_naming_the_file_clears_the_last_result_and_keeps_working(page, tmp_path):
    page.locator("#upload-input input[type=file]").set_input_files(
        str(get_task("facades_label2photo").examples[1].input)
    )
    _wait_for_image(page, "#upload-input")
    page.click("#upload-button")
    _wait_for_image(page, "#upload-output")
    page.wait_for_function("() => document.querySelector('#latency').innerText.includes(' ms')")
    page.locator("#upload-input input[type=file]").set_input_files(str(_make_bad_input("truncated.jpg", tmp_path)))
    page.get_by_text("truncated.jpg: cannot decode image").wait_for(timeout=60_000)  # refused as it arrives
    page.wait_for_function("() => document.querySelectorAll('#upload-input img').length === 0")
    page.click("#upload-button")
    page.get_by_text("No image given: upload one or pick an example.").wait_for(timeout=60_000)
    assert page.get_by_text("Traceback").count() == 0
    # the previous image's latency and output must not stay beside the failed one
    page.wait_for_function("() => !document.querySelector('#latency').innerText.includes(' ms')")
    page.wait_for_function("() => document.querySelectorAll('#upload-output img').length === 0")
    _screenshot(page, "app-bad-upload.png")
    page.locator("#upload-input input[type=file]").set_input_files(
        str(get_task("facades_label2photo").examples[2].input)
    )
    _wait_for_image(page, "#upload-input")
    page.click("#upload-button")
    _wait_for_image(page, "#upload-output")


def test_browser_a_file_that_is_not_an_image_is_refused_on_upload_and_the_input_keeps_its_layout(page, tmp_path):
    height = page.eval_on_selector("#upload-input", "e => e.getBoundingClientRect().height")
    page.locator("#upload-input input[type=file]").set_input_files(str(_make_bad_input("not_an_image.png", tmp_path)))
    page.get_by_text("not_an_image.png: not an image file in a format we read").wait_for(timeout=60_000)
    page.wait_for_function("() => document.querySelectorAll('#upload-input img').length === 0")  # no broken icon
    assert page.eval_on_selector("#upload-input", "e => e.getBoundingClientRect().height") >= height - 2
    _screenshot(page, "app-not-an-image.png")
    page.locator("#upload-input input[type=file]").set_input_files(str(get_task("sat2map").examples[0].input))
    _wait_for_image(page, "#upload-input")  # the same box takes the next upload


@pytest.mark.parametrize("task", ["facades_label2photo", "cityscapes_photo2label"])  # real photo, real label map
def test_browser_example_fills_both_compare_sliders_with_two_images_each(page, task):
    if task != "facades_label2photo":  # the task the page opens on
        _pick_task(page, task)
    page.locator("#examples button, #examples .gallery-item").first.click()
    _wait_for_image(page, "#upload-output")
    page.get_by_role("tab", name="Compare").click()
    io_sources = _wait_for_image(page, "#compare-io", count=2)
    truth_sources = _wait_for_image(page, "#compare-truth", count=2)
    assert len(set(io_sources)) == 2 and len(set(truth_sources)) == 2
    example = get_task(task).examples[0]
    shown_truth = {src: _pixels(_fetch_image(page, src)) for src in truth_sources}
    target = _pixels(Image.open(example.target))
    assert min(np.abs(pixels - target).mean() for pixels in shown_truth.values()) < 3  # the real target is shown
    _screenshot(page, f"app-compare-{task}.png" if task != "facades_label2photo" else "app-compare.png")


def test_browser_keep_full_resolution_gives_the_output_at_the_input_size_with_its_latency(page, tmp_path):
    assert not page.locator("#full-resolution").is_visible()  # facades: label maps, translated at the model's size
    page.get_by_label("Task").click()
    page.get_by_role("option", name=get_task("sat2map").title).click()
    page.locator("#full-resolution").wait_for(state="visible", timeout=60_000)
    photo = _save(Image.open(get_task("sat2map").examples[1].input).resize((1300, 700)), tmp_path / "wide.png")
    page.locator("#upload-input input[type=file]").set_input_files(str(photo))
    _wait_for_image(page, "#upload-input")
    page.locator("#full-resolution input[type=checkbox]").check()
    page.click("#upload-button")
    (src,) = _wait_for_image(page, "#upload-output")
    assert _fetch_image(page, src).size == (1300, 700)
    page.wait_for_function("() => document.querySelector('#latency').innerText.includes('1300×700 → 1300×700')")
    assert " ms" in page.locator("#latency").inner_text()
    _screenshot(page, "app-full-resolution.png")


def test_browser_cyclegan_task_offers_upload_and_compare_and_no_canvas(page):
    task = get_task("apple2orange")
    page.get_by_label("Task").click()
    page.get_by_role("option", name=task.title).click()
    page.get_by_text("CycleGAN (Zhu et al., ICCV 2017)").first.wait_for(timeout=60_000)
    page.get_by_role("tab", name="Sketch").click()
    page.locator("#sketch-unavailable").wait_for(state="visible", timeout=60_000)
    assert not page.locator("#sketch-input").is_visible()  # photos are not drawn: a note instead of a canvas
    page.get_by_role("tab", name="Upload").click()
    page.locator("#examples button, #examples .gallery-item").first.click()
    (src,) = _wait_for_image(page, "#upload-output")
    assert _fetch_image(page, src).size == Image.open(task.examples[0].input).size
    page.get_by_role("tab", name="Compare").click()
    assert len(set(_wait_for_image(page, "#compare-io", count=2))) == 2
    assert not page.locator("#compare-truth").is_visible()  # unpaired data: no ground truth to compare with
    assert "no real image" in page.locator("#compare-hint").inner_text()
    _screenshot(page, "app-cyclegan-compare.png")
    page.get_by_label("Task").click()
    page.get_by_role("option", name=get_task("facades_label2photo").title).click()
    page.get_by_role("tab", name="Sketch").click()
    page.locator("#sketch-input").wait_for(state="visible", timeout=60_000)  # back for a task one can draw
    assert not page.locator("#sketch-unavailable").is_visible()


def test_browser_sketch_with_a_palette_brush_is_translated(page):
    page.get_by_role("tab", name="Sketch").click()
    editor = page.locator("#sketch-input")
    editor.get_by_role("button", name="Brush", exact=True).click()
    editor.get_by_role("button", name="Color", exact=True).click()
    shop = get_task("facades_label2photo").palette[-1]
    assert shop.name == "shop"
    editor.locator(f'button.color[style*="rgb{shop.color}"]').click()
    editor.get_by_role("button", name="Brush", exact=True).click()  # closes the colour menu, back to drawing
    canvas = editor.locator("canvas").first.bounding_box()
    x, y, width, height = canvas["x"], canvas["y"], canvas["width"], canvas["height"]
    for row in (0.55, 0.6):  # few mouse moves: the canvas repaints slowly without a GPU
        page.mouse.move(x + width * 0.35, y + height * row)
        page.mouse.down()
        page.mouse.move(x + width * 0.65, y + height * row, steps=3)
        page.mouse.up()
    page.click("#sketch-button")
    _wait_for_image(page, "#sketch-output")
    page.wait_for_function("() => document.querySelector('#latency').innerText.includes(' ms')")
    _screenshot(page, "app-sketch.png")
    page.get_by_role("tab", name="Compare").click()
    sources = _wait_for_image(page, "#compare-io", count=2)
    drawn = [_pixels(_fetch_image(page, src)).reshape(-1, 3) for src in sources]
    near = [np.abs(pixels - np.array(shop.color)).sum(-1) < 30 for pixels in drawn]
    background = [
        np.abs(pixels - np.array(get_task("facades_label2photo").background)).sum(-1) < 30 for pixels in drawn
    ]
    # The slider's "before" image is the sketch: mostly background, with a band of the shop colour drawn on it.
    assert any(band.mean() > 0.02 and back.mean() > 0.5 for band, back in zip(near, background, strict=True))


def _drag_into_the_canvas_from_its_margin(page, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Open the Sketch tab and drag from `start` to `end`, fractions of the editor's drawing area (the image and
    the grey margin of at least 30 px around it)."""
    page.get_by_role("tab", name="Sketch").click()
    editor = page.locator("#sketch-input")
    assert not editor.get_by_text("Upload an image").is_visible()  # no white upload box while the canvas loads
    editor.get_by_role("button", name="Color", exact=True).wait_for(timeout=60_000)  # the canvas is ready to draw
    box = editor.locator("canvas").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * start[0], box["y"] + box["height"] * start[1])
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * end[0], box["y"] + box["height"] * end[1], steps=4)
    page.mouse.up()


def _translated_sketch(page) -> np.ndarray:
    """Translate the sketch; the sketch as the Compare tab shows it, at the model's 256x256."""
    page.click("#sketch-button")
    _wait_for_image(page, "#sketch-output")
    page.get_by_role("tab", name="Compare").click()
    before, _ = _wait_for_image(page, "#compare-io", count=2)  # input, output
    return _pixels(_fetch_image(page, before).resize((256, 256), Image.Resampling.BICUBIC))


def test_browser_a_pen_stroke_that_starts_in_the_margin_is_kept_one_pixel_thin_like_the_training_edges(page):
    _pick_task(page, "edges2shoes")
    _drag_into_the_canvas_from_its_margin(page, (0.01, 0.5), (0.5, 0.5))  # 6 px in: the editor's margin is 30+
    editor = page.locator("#sketch-input")
    assert all(editor.get_by_role("button", name=name, exact=True).is_visible() for name in ("Erase", "Undo"))
    _screenshot(page, "app-sketch-edges.png")
    ink = _translated_sketch(page).min(-1) < 128
    rows, columns = np.nonzero(ink)
    assert ink.mean() < 0.01 and columns.min() <= 3 and columns.max() >= 120  # from the image's left edge inwards
    assert abs(rows.mean() - 128) < 6
    thickness = ink[:, 16:112].sum(0)  # along the line, away from its round ends
    assert thickness.min() >= 1 and np.median(thickness) <= 2  # the data's edges are 1-pixel lines


def test_browser_a_horizontal_pen_stroke_shows_solid_on_the_canvas_and_is_inked_one_pixel_thin(page):
    _pick_task(page, "edges2shoes")
    _drag_into_the_canvas_from_its_margin(page, (0.3, 0.4), (0.7, 0.4))
    canvas = page.locator("#sketch-input canvas").first
    shown = np.asarray(Image.open(io.BytesIO(canvas.screenshot())).convert("L")) < 128
    height, width = shown.shape
    band = shown[round(0.4 * height) - 6 : round(0.4 * height) + 7, round(0.3 * width) + 8 : round(0.7 * width) - 8]
    assert (band.sum(0) >= 2).all(), band.sum(0)  # every screen column of the stroke inked: solid, not dashed
    ink = _translated_sketch(page).min(-1) < 128
    _, columns = np.nonzero(ink)
    assert (ink[:, columns.min() + 4 : columns.max() - 4].sum(0) == 1).all()  # the data's 1-pixel lines, no gaps


def test_browser_sketch_swatches_carry_the_legends_names_and_the_output_is_as_tall_as_the_canvas(page):
    page.get_by_role("tab", name="Sketch").click()
    editor = page.locator("#sketch-input")
    editor.get_by_role("button", name="Color", exact=True).click()
    names = [label.name for label in get_task("facades_label2photo").palette]
    page.wait_for_function(
        "names => [...document.querySelectorAll('#sketch-input menu button.color')].map(b => b.innerText.trim())"
        ".join() === names.join()",
        arg=names,
        timeout=30_000,
    )
    for name in names:  # each on show, not cut off by the menu: the point at its centre is the swatch itself
        assert page.evaluate(
            """name => {
                const button = [...document.querySelectorAll('#sketch-input menu button.color')]
                    .find(b => b.title === name);
                const box = button.getBoundingClientRect();
                return document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2) === button;
            }""",
            name,
        ), name
    _screenshot(page, "app-sketch-swatches.png")
    height = page.eval_on_selector("#sketch-input", "e => e.getBoundingClientRect().height")
    assert page.eval_on_selector("#sketch-output", "e => e.getBoundingClientRect().height") >= height - 2
    assert editor.get_by_text("100%", exact=True).is_visible()  # the canvas at its own scale: crisp strokes


def test_browser_the_dance_tab_hides_the_task_picker_and_an_unpaired_task_compares_no_real_image(page):
    page.get_by_role("tab", name="Dance").click()
    page.locator("#task-picker").wait_for(state="hidden", timeout=30_000)
    assert not page.locator("#examples").is_visible()
    _screenshot(page, "app-dance.png")
    page.get_by_role("tab", name="Compare").click()
    page.locator("#task-picker").wait_for(state="visible", timeout=30_000)
    _pick_task(page, "apple2orange")
    hint = page.locator("#compare-hint").inner_text()
    assert "unpaired" in hint and "real image, too" not in hint


def test_browser_a_label_sketch_starts_with_a_class_that_shows_and_keeps_strokes_from_the_margin(page):
    task = get_task("cityscapes_label2photo")
    _pick_task(page, task.name)
    _drag_into_the_canvas_from_its_margin(page, (0.5, 0.01), (0.5, 0.5))  # from the top margin down
    assert "Pick a class with the brush's colour button, then drag" in page.locator("#sketch-legend").inner_text()
    sketch = _translated_sketch(page)
    road = np.abs(sketch - np.array(task.starting_brush.color)).sum(-1) < 40
    background = np.abs(sketch - np.array(task.background)).sum(-1) < 40
    rows, columns = np.nonzero(road)
    assert task.starting_brush.name == "road" and background.mean() > 0.8
    assert rows.min() <= 3 and rows.max() >= 120 and abs(columns.mean() - 128) < 6  # from the top edge down


def test_browser_edges_from_a_shoe_photo_compare_photo_edges_and_output(page, tmp_path):
    pairs = [Image.open(SHOES / name).convert("RGB") for name in ("2_AB.jpg", "1_AB.jpg")]
    data_edges = [np.asarray(pair.crop((256, 0, 512, 256)).convert("L")) < 128 for pair in pairs]
    photo = _save(pairs[0].crop((0, 0, 256, 256)), tmp_path / "shoe.jpg")
    _pick_task(page, "edges2shoes")
    page.locator("#edges-from-photo input[type=checkbox]").check()
    page.locator("#upload-input input[type=file]").set_input_files(str(photo))
    _wait_for_image(page, "#upload-input")
    page.click("#upload-button")
    _wait_for_image(page, "#upload-output")
    latency = "your photo → edge map → photo: 256×256 → 256×256"
    page.wait_for_function("text => document.querySelector('#latency').innerText.includes(text)", arg=latency)
    page.get_by_role("tab", name="Compare").click()
    edges, output = (_fetch_image(page, src) for src in _wait_for_image(page, "#compare-io", count=2))
    output_again, shown_photo = (_fetch_image(page, src) for src in _wait_for_image(page, "#compare-truth", count=2))
    drawn = _pixels(edges).min(-1) < 128
    own, other = edge_f_score(drawn, data_edges[0]), edge_f_score(drawn, data_edges[1])
    assert own["f_score"] > 0.6 and own["f_score"] > other["f_score"] + 0.2  # this shoe's edges, as the data draws
    assert np.abs(_pixels(shown_photo) - _pixels(Image.open(photo))).mean() < 4  # the photo against the output
    assert np.abs(_pixels(output_again) - _pixels(output)).mean() < 4
    assert "your photo" in page.locator("#compare-truth").inner_text()
    _screenshot(page, "app-edges-from-photo.png")


def test_browser_task_picker_shows_the_longest_title_in_full_on_a_phone(browser, running_app):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(running_app.url)
    picker = page.locator("#task-choice input")
    picker.wait_for()
    longest = max((task.title for task in TASKS.values()), key=len)
    needed = picker.evaluate(
        """(input, text) => {
            const style = getComputedStyle(input), context = document.createElement('canvas').getContext('2d');
            context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
            return context.measureText(text).width;
        }""",
        longest,
    )
    box = picker.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # on screen
    assert picker.evaluate("input => input.clientWidth") >= needed  # the title is not cut off
    assert page.locator("#task-card").bounding_box()["width"] >= 300  # the card wraps below, not squeezed beside
    _screenshot(page, "app-phone.png")
    context.close()


def test_browser_many_ways_shows_k_different_shoes_for_one_sketch_and_the_walk_between_two(page):
    _pick_task(page, "edges2shoes_bicyclegan")  # the task opens its tab
    editor = page.locator("#variations-sketch")
    editor.get_by_role("button", name="Color", exact=True).wait_for(timeout=60_000)  # the canvas is ready to draw
    box = editor.locator("canvas").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.7)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.4, steps=3)  # one stroke: the
    page.mouse.up()  # canvas repaints slowly without a GPU
    page.click("#variations-sketch-button")
    sources = _wait_for_image(page, "#variations-gallery", count=6)  # the default: six
    shoes = [_pixels(_fetch_image(page, src)) for src in sources]
    assert len(shoes) == 6 and all(shoe.shape == (256, 256, 3) for shoe in shoes)
    assert min(np.abs(a - b).mean() for a, b in itertools.combinations(shoes, 2)) > 5  # six different images
    (walked,) = _wait_for_image(page, "#variations-walked")
    halfway = _pixels(_fetch_image(page, walked))
    assert min(np.abs(halfway - shoe).mean() for shoe in shoes[:2]) > 2  # between image 1 and image 2
    page.wait_for_function("() => document.querySelector('#variations-made').innerText.includes('6 variations')")
    _screenshot(page, "app-many-ways.png")


# --- last: shutdown ----------------------------------------------------------------------------------------------


def test_the_console_shows_no_warnings_after_uploads_and_translations(client, running_app, tmp_path):
    _translate(client, "sat2map", _make_bad_input("cmyk.jpg", tmp_path))  # an upload, a decode, a forward pass
    log = running_app.log.read_text()
    assert "Warning" not in log and "warn" not in log.lower(), log  # e.g. pydantic's about FastAPI's body alias


def test_nothing_a_user_uploaded_stays_on_disk_after_the_app_stops(client, running_app):
    _translate(client, "sat2map", get_task("sat2map").examples[2].input)
    assert any(path.is_file() for path in running_app.uploads.rglob("*"))
    running_app.process.send_signal(signal.SIGTERM)
    running_app.process.wait(timeout=60)
    assert [path for path in running_app.uploads.rglob("*") if path.is_file()] == []
