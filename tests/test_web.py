"""The browser page (web/) in Chromium: the export CLI's graphs run by ONNX Runtime Web give Python ONNX Runtime's
pixels, the sketch tools edit the input, and the app's "In your browser" tab serves the same page and models.

The models come from `python -m pix2pix_hub.export_web` run here into a temporary folder (onnxruntime-web from
`web/node_modules`: `npm ci --prefix web`, which the README's test command runs first), served by a plain static
server with the headers that give the page wasm threads.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch
from PIL import Image

from pix2pix_hub import Pix2PixGenerator, export_web
from pix2pix_hub.images import image_to_tensor, tensor_to_image
from pix2pix_hub.inference.fast.int8 import MIN_PSNR
from pix2pix_hub.inference.web import draw_web_latents, draw_web_masks
from space import web_tab
from space.launch import free_port
from space.tasks import TASKS, get_task
from space.ui import build_demo
from space.web_tab import PAGE_FILES, WEB_DIR, build_site, serve_static, show_page
from tests.bicyclegan_models import write_tiny_bicyclegan

REPO_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO_ROOT / "test-artifacts"
EXPORTS = {"facades_label2photo": ["--palette", "facades"], "sat2map": []}  # paper mode + int8, eval mode + int8
SEEDS = (0, 7)  # of the paper-mode model's dropout noise
READ_PIXELS = """(id) => {
  const canvas = document.getElementById(id);
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let text = "";
  for (let i = 0; i < data.length; i += 0x8000) text += String.fromCharCode.apply(null, data.subarray(i, i + 0x8000));
  return [canvas.width, canvas.height, btoa(text)];
}"""
IDLE_AFTER = """(runs) => {
  const state = window.pix2pixWeb;
  return state && (state.error || (state.runs > runs && !state.busy && !state.pending && !state.again));
}"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """facades (paper mode) and sat2map (eval mode), float32 and int8, with their examples, by the export CLI's
    `main` (in this process: torch is loaded once; test_the_export_cli_... runs `python -m` itself)."""
    out = tmp_path_factory.mktemp("web") / "models"
    for task, flags in EXPORTS.items():
        export_web.main(
            ["--model", str(REPO_ROOT / "weights" / task), "--out", str(out), "--examples"]
            + [str(REPO_ROOT / "examples" / task), *flags]
        )
    return out


@pytest.fixture(scope="module")
def site(exported):
    """The page and the export on a static server, as any static host serves files (plus isolation headers)."""
    server, url = serve_static({"/": WEB_DIR, "/models/": exported}, isolated=True)
    yield url
    server.shutdown()


def wait_translated(page_or_frame, runs: int) -> None:
    """Until a translation after the `runs`-th has finished and none is pending; a page error fails at once."""
    page_or_frame.wait_for_function(IDLE_AFTER, arg=runs, timeout=60_000)
    error = page_or_frame.evaluate("window.pix2pixWeb.error")
    assert error is None, error


def runs(page_or_frame) -> int:
    return page_or_frame.evaluate("window.pix2pixWeb.runs")


def pixels(page_or_frame, canvas: str) -> np.ndarray:
    """A canvas's RGB pixels, as the page shows them."""
    width, height, data = page_or_frame.evaluate(READ_PIXELS, canvas)
    return np.frombuffer(base64.b64decode(data), np.uint8).reshape(height, width, 4)[..., :3].astype(np.int16)


@pytest.fixture(scope="module")
def page(browser, site):
    """The page from the static server, shared by this module's tests (each sets the task and precision it needs);
    every request it makes is recorded (none may leave the server)."""
    context = browser.new_context()
    page = context.new_page()
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    page.goto(site + "index.html")
    wait_translated(page, 0)
    yield page
    context.close()


def choose(page, selector: str, value: str) -> None:
    """Change a control and wait for the translation it causes."""
    before = runs(page)
    page.select_option(selector, value)
    wait_translated(page, before)


def set_seed(page, seed: int) -> None:
    before = runs(page)
    page.fill("#seed", str(seed))
    page.dispatch_event("#seed", "change")
    wait_translated(page, before)


def click_example(page, index: int) -> None:
    before = runs(page)
    page.click(f"#examples button[data-index='{index}']")
    wait_translated(page, before)


class PythonGraph:
    """An exported graph in Python's ONNX Runtime, fed as the page feeds it (model.json's inputs and masks)."""

    def __init__(self, model: dict, graph: bytes):
        self.model = model
        self.session = onnxruntime.InferenceSession(graph, providers=["CPUExecutionProvider"])

    @classmethod
    def exported(cls, folder: Path, precision: str) -> PythonGraph:
        model = json.loads((folder / "model.json").read_text())
        return cls(model, (folder / model["graphs"][precision]["file"]).read_bytes())

    def __call__(self, rgb: np.ndarray, seed: int) -> np.ndarray:
        feeds = {"source": image_to_tensor(Image.fromarray(rgb.astype(np.uint8)))[None].numpy()}
        dropout, latents = self.model["dropout"], self.model.get("latents") or []
        if dropout:
            masks = draw_web_masks(dropout["shapes"], dropout["probabilities"], seed)
            feeds |= dict(zip(dropout["inputs"], masks, strict=True))
        codes = draw_web_latents([latent["channels"] for latent in latents], seed)
        feeds |= {latent["name"]: code for latent, code in zip(latents, codes, strict=True)}
        (output,) = self.session.run(None, feeds)
        return np.asarray(tensor_to_image(torch.from_numpy(output[0])), dtype=np.int16)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """8-bit PSNR in dB (inf when equal)."""
    mse = float(np.mean((a.astype(float) - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def browser_outputs(page, exported: Path, task: str, precision: str):
    """(example file, seed, the page's input pixels, the page's output pixels) for each example and seed."""
    if page.evaluate("window.pix2pixWeb.model.task") != task:
        choose(page, "#task", f"{task}/model.json")
    if page.input_value("#precision") != precision:
        choose(page, "#precision", precision)
    model = json.loads((exported / task / "model.json").read_text())
    for seed in SEEDS if model["dropout"] else (0,):
        if model["dropout"]:
            set_seed(page, seed)
        for index, example in enumerate(model["examples"]):
            click_example(page, index)
            yield exported / task / example, seed, pixels(page, "sketch"), pixels(page, "output")


@pytest.mark.parametrize("task", sorted(EXPORTS))
def test_float32_in_the_browser_gives_python_onnx_runtimes_pixels_within_one_level(page, exported, task):
    python = PythonGraph.exported(exported / task, "float32")
    compared = 0
    for example, seed, shown_input, output in browser_outputs(page, exported, task, "float32"):
        assert np.array_equal(shown_input, np.asarray(Image.open(example).convert("RGB"))), example  # same decode
        expected = python(shown_input, seed)
        assert np.abs(output - expected).max() <= 1, (example, seed)  # the float paths' rounding, nothing more
        compared += 1
    assert compared == len(python.model["examples"]) * (len(SEEDS) if python.model["dropout"] else 1)
    assert all(url.startswith(page.url.rsplit("/", 1)[0]) for url in page.requests)  # no CDN: works offline


@pytest.mark.parametrize("task", sorted(EXPORTS))
def test_int8_in_the_browser_runs_the_quantized_graph_as_close_to_float32_as_python_does(page, exported, task):
    """Int8 amplifies the float paths' last-bit differences where one carries a value across a quantization step
    (Python's own int8 outputs move as much between ONNX Runtime's optimisation levels), so the bar is the
    calibration's: every output within MIN_PSNR dB of float32, as close as Python's int8 output is, and within
    MIN_PSNR dB of Python's int8 output itself."""
    python_int8, python_float32 = (
        PythonGraph.exported(exported / task, "int8"),
        PythonGraph.exported(exported / task, "float32"),
    )
    compared = 0
    for example, seed, shown_input, output in browser_outputs(page, exported, task, "int8"):
        expected, float32 = python_int8(shown_input, seed), python_float32(shown_input, seed)
        assert not np.array_equal(expected, float32)  # the int8 graph is not the float32 one
        assert psnr(output, expected) >= MIN_PSNR, (example, seed)
        assert psnr(output, float32) >= MIN_PSNR, (example, seed)
        assert psnr(output, float32) >= psnr(expected, float32) - 1.0, (example, seed)  # no worse than Python's
        compared += 1
    assert compared == len(python_int8.model["examples"]) * (len(SEEDS) if python_int8.model["dropout"] else 1)


def test_the_pages_dropout_masks_are_numpys_for_the_same_seed(page, exported):
    dropout = json.loads((exported / "facades_label2photo" / "model.json").read_text())["dropout"]
    for seed in (0, 123456789, 2**32 - 1):
        drawn = page.evaluate(
            """async ([dropout, seed]) => {
                const { drawMasks } = await import("./translator.js");
                return drawMasks(dropout, seed).map((mask) => Array.from(mask));
            }""",
            [dropout, seed],
        )
        expected = draw_web_masks(dropout["shapes"], dropout["probabilities"], seed)
        assert len(drawn) == len(expected) == len(dropout["shapes"])
        for mask, numpy_mask in zip(drawn, expected, strict=True):
            assert np.array_equal(np.asarray(mask, np.float32).reshape(numpy_mask.shape), numpy_mask)
        assert 0.4 < np.mean([m.mean() / 2 for m in expected]) < 0.6  # about half kept, kept ones scaled by 2


def test_the_pages_latent_codes_are_numpys_for_the_same_seed(page):
    """A generator that takes latent codes gets them from the page, drawn from the seed as `draw_web_latents` does."""
    latents = [{"name": "z", "channels": 8}, {"name": "w", "channels": 3}]
    for seed in (0, 123456789, 2**32 - 1):
        drawn = page.evaluate(
            """async ([latents, seed]) => {
                const { drawLatents } = await import("./translator.js");
                return drawLatents(latents, seed).map((code) => Array.from(code));
            }""",
            [latents, seed],
        )
        expected = draw_web_latents([latent["channels"] for latent in latents], seed)
        assert [len(code) for code in drawn] == [code.shape[1] for code in expected] == [8, 3]
        for code, numpy_code in zip(drawn, expected, strict=True):
            np.testing.assert_allclose(np.asarray(code, np.float32), numpy_code[0], rtol=1e-6, atol=1e-6)
    codes = np.concatenate([draw_web_latents([64], seed)[0][0] for seed in range(50)])
    assert abs(codes.mean()) < 0.1 and 0.9 < codes.std() < 1.1  # N(0, 1)


@pytest.fixture(scope="module")
def bicycle_export(tmp_path_factory) -> Path:
    """A tiny BicycleGAN (G with a latent code z, E beside it) exported by the CLI's `main` with the pen."""
    root = tmp_path_factory.mktemp("bicycle_web")
    model = write_tiny_bicyclegan(root / "edges2shoes_bicyclegan")
    examples = str(REPO_ROOT / "examples" / "edges2shoes")
    export_web.main(["--model", str(model), "--out", str(root / "models"), "--pen", "--examples", examples])
    return root / "models"


def test_a_model_with_a_latent_code_shows_the_seed_and_a_new_seed_draws_another_output(browser, bicycle_export):
    model = json.loads((bicycle_export / "edges2shoes_bicyclegan" / "model.json").read_text())
    assert model["latents"] == [{"name": "z", "channels": 8}] and model["dropout"] is None
    python = PythonGraph.exported(bicycle_export / "edges2shoes_bicyclegan", "float32")
    server, url = serve_static({"/": WEB_DIR, "/models/": bicycle_export}, isolated=True)
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(url + "index.html")
        wait_translated(page, 0)
        assert page.locator("#seed-control").is_visible()  # hidden for eval-mode models without a code
        assert "latent code z (8 numbers) drawn from the seed" in page.inner_text("#about")
        first = pixels(page, "output")
        assert np.abs(first - python(pixels(page, "sketch"), int(page.input_value("#seed")))).max() <= 1
        before = runs(page)
        page.click("#new-seed")
        wait_translated(page, before)
        again, seed = pixels(page, "output"), int(page.input_value("#seed"))
        assert np.abs(again - python(pixels(page, "sketch"), seed)).max() <= 1  # the page fed z drawn from it
        assert np.abs(again - first).mean() > 5  # another z, another shoe
    finally:
        context.close()
        server.shutdown()


def test_a_stroke_is_translated_when_the_pen_lifts_in_palette_colours_and_undo_and_eraser_edit_it(page, exported):
    choose(page, "#task", "facades_label2photo/model.json")
    choose(page, "#precision", "float32")
    palette = json.loads((exported / "facades_label2photo" / "model.json").read_text())["sketch"]["palette"]
    page.click("#clear")
    wait_translated(page, runs(page) - 1)
    blank = pixels(page, "sketch")
    assert (blank == palette[0]["color"]).all()
    page.click("#brushes .swatch:has-text('window')")
    box = page.locator("#sketch").bounding_box()
    before = runs(page)
    page.mouse.move(box["x"] + 40, box["y"] + 60)
    page.mouse.down()
    page.mouse.move(box["x"] + 300, box["y"] + 200, steps=12)
    assert runs(page) == before  # nothing translates mid-stroke
    page.mouse.up()
    wait_translated(page, before)
    assert runs(page) == before + 1  # one translation per stroke (debounced)
    drawn = pixels(page, "sketch")
    colours = {tuple(colour) for colour in drawn.reshape(-1, 3).tolist()}
    assert colours == {tuple(palette[0]["color"]), tuple(palette[2]["color"])}  # hard edges: no blended colours
    expected = PythonGraph.exported(exported / "facades_label2photo", "float32")(drawn, int(page.input_value("#seed")))
    assert np.abs(pixels(page, "output") - expected).max() <= 1
    page.click("#eraser")
    before = runs(page)
    page.mouse.move(box["x"] + 40, box["y"] + 60)
    page.mouse.down()
    page.mouse.up()
    wait_translated(page, before)
    assert (pixels(page, "sketch") != drawn).any(axis=-1).sum() > 0
    for _ in range(2):
        before = runs(page)
        page.click("#undo")
        wait_translated(page, before)
    assert np.array_equal(pixels(page, "sketch"), blank)


def test_the_page_shows_its_latency_with_wasm_threads_when_isolated_and_loads_a_random_example(page, exported):
    choose(page, "#task", "sat2map/model.json")
    before = runs(page)
    page.click("#random-example")
    wait_translated(page, before)
    examples = [np.asarray(Image.open(path).convert("RGB")) for path in (exported / "sat2map/examples").glob("*.jpg")]
    assert len(examples) == 3 and any(np.array_equal(pixels(page, "sketch"), example) for example in examples)
    threads, cores, isolated = page.evaluate(
        "[window.pix2pixWeb.ort.env.wasm.numThreads, navigator.hardwareConcurrency, self.crossOriginIsolated]"
    )
    assert isolated and threads == min(4, cores)  # the static server's COOP/COEP headers give the page threads
    shown = re.fullmatch(
        r"sat2map, int8: (\d+) ms in your browser \(wasm, (\d+) threads?\)", page.inner_text("#status")
    )
    assert shown and int(shown[2]) == threads, page.inner_text("#status")
    assert abs(int(shown[1]) - page.evaluate("window.pix2pixWeb.last.ms")) <= 0.5


def test_uploads_of_any_size_are_translated_and_a_non_image_is_refused_in_plain_words(page, tmp_path):
    image = tmp_path / "wide.png"
    Image.open(REPO_ROOT / "examples/sat2map/2_input.jpg").resize((400, 300)).save(image)
    choose(page, "#task", "sat2map/model.json")
    before = runs(page)
    page.set_input_files("#upload", str(image))
    wait_translated(page, before)
    assert pixels(page, "sketch").shape == pixels(page, "output").shape == (256, 256, 3)
    (tmp_path / "notes.png").write_text("not an image")
    page.set_input_files("#upload", str(tmp_path / "notes.png"))
    page.wait_for_function("window.pix2pixWeb.error !== null")
    assert page.inner_text("#status") == "notes.png: not an image this browser can decode"


def test_the_export_cli_refuses_bad_input_in_plain_words(tmp_path, capsys):
    torch.manual_seed(0)
    Pix2PixGenerator(ngf=8).save_pretrained(tmp_path / "uncalibrated")
    model = ["--model", str(tmp_path / "uncalibrated"), "--out", str(tmp_path / "out")]
    cases = {
        ("--precision", "int8"): "no int8 graph for the browser: the model has no int8 calibration",
        ("--examples", str(tmp_path / "nothing")): "--examples .*nothing: no such file or folder",
        ("--runtime", str(tmp_path)): "no onnxruntime-web runtime here .* run `npm ci --prefix web`",
        ("--palette", "cats"): "argument --palette: invalid choice: 'cats'",
        ("--task", "../elsewhere"): "task name '../elsewhere': use letters, digits",
    }
    for flags, message in cases.items():
        with pytest.raises(SystemExit) as exit_info:
            export_web.main(model + list(flags))
        assert re.search(message, str(exit_info.value) + capsys.readouterr().err), flags
    out = tmp_path / "x"
    argv = [sys.executable, "-m", "pix2pix_hub.export_web", "--model", str(tmp_path / "missing"), "--out", str(out)]
    run = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert "missing: not a folder here, and not a Hub model id" in run.stderr
    assert not out.exists()


def test_the_tab_says_exactly_what_to_run_without_the_browser_runtime_and_works_once_it_is_there(
    app_with_tiny_models, tmp_path
):
    runtime = tmp_path / "web" / "node_modules" / "onnxruntime-web" / "dist"
    build_site.cache_clear()  # a site built by an earlier test would hide the missing runtime
    with pytest.MonkeyPatch.context() as patch:  # a checkout without `npm ci`: web_tab's default folder is missing
        patch.setattr(web_tab, "WEB_DIR", tmp_path / "web")
        patch.setattr(web_tab, "REPO_ROOT", tmp_path)
        for name in PAGE_FILES:
            (tmp_path / "web").mkdir(exist_ok=True)
            shutil.copyfile(REPO_ROOT / "web" / name, tmp_path / "web" / name)
        text = show_page("facades_label2photo")
        assert f"Run <code>npm ci --prefix web</code> in <code>{tmp_path}</code>" in text, text
        assert "no restart needed" in text and "--runtime" not in text and "<iframe" not in text
        shutil.copytree(REPO_ROOT / "web/node_modules/onnxruntime-web/dist", runtime)  # what npm ci installs
        text = show_page("facades_label2photo")  # the same process: the tab opened again
        assert "<iframe" in text and (build_site() / "models" / "runtime" / "ort.wasm.min.mjs").is_file()
        build_site.cache_clear()
        patch.setenv("PIX2PIX_WEB_RUNTIME", str(tmp_path / "elsewhere"))
        text = show_page("facades_label2photo")
        assert f"PIX2PIX_WEB_RUNTIME points at <code>{tmp_path / 'elsewhere'}</code>" in text, text
    build_site.cache_clear()


@pytest.fixture(scope="module")
def app_with_tiny_models(tmp_path_factory):
    """The app's page (`build_demo`, as app.py builds it) on a loopback port, every weighted task pointed at a tiny
    model (quick to export) through its environment variable."""
    root = tmp_path_factory.mktemp("web_app")
    torch.manual_seed(0)
    Pix2PixGenerator(ngf=8).save_pretrained(root / "tiny")
    for direction in ("AtoB", "BtoA"):
        Pix2PixGenerator("resnet_6blocks", ngf=4, norm="instance", use_dropout=False).save_pretrained(
            root / "cyclegan" / direction
        )
    with pytest.MonkeyPatch.context() as patch:
        for task in TASKS.values():
            if task.bundled_dir.is_dir():
                patch.setenv(task.override_env, str(root / ("cyclegan" if task.subfolder else "tiny")))
        demo = build_demo()
        demo.queue().launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
        yield demo.local_url
        demo.close()


def test_the_apps_in_your_browser_tab_serves_the_page_and_models_that_translate_in_the_browser(
    browser, app_with_tiny_models
):
    context = browser.new_context()
    page = context.new_page()
    page.goto(app_with_tiny_models)
    page.get_by_role("tab", name="In your browser").click()
    frame_element = page.wait_for_selector("#web-page", timeout=120_000)
    frame = frame_element.content_frame()
    frame.wait_for_function("window.pix2pixWeb && window.pix2pixWeb.model", timeout=60_000)
    wait_translated(frame, 0)
    titles = frame.eval_on_selector_all("#task option", "options => options.map((option) => option.textContent)")
    weighted = [name for name, task in TASKS.items() if task.bundled_dir.is_dir()]
    assert sorted(titles) == sorted(get_task(name).title for name in weighted)  # the app's titles, not raw names
    assert frame.evaluate("window.pix2pixWeb.model.task") == weighted[0]  # it opens on the task the app shows
    assert get_task(weighted[0]).title in frame.inner_text("#status")
    undo = frame.eval_on_selector("#undo", "b => [getComputedStyle(b).borderRadius, getComputedStyle(b).cursor]")
    assert undo == ["6px", "pointer"]  # the page's own button style, not the browser's bare default
    model_url = frame.evaluate("window.pix2pixWeb.model.url")
    model = json.loads(urllib.request.urlopen(model_url + "model.json", timeout=30).read())
    graph = urllib.request.urlopen(model_url + model["graphs"]["float32"]["file"], timeout=30).read()
    shown, seed = pixels(frame, "sketch"), int(frame.input_value("#seed"))
    expected = PythonGraph(model, graph)(shown, seed)
    assert np.abs(pixels(frame, "output") - expected).max() <= 1
    first_task = get_task(model["task"])
    assert np.array_equal(shown, np.asarray(Image.open(first_task.examples[0].input).convert("RGB")))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web_tab.png"), full_page=True)
    context.close()
