"""In-browser latency (ONNX Runtime Web, wasm) against the app's server round trip, and each model's download size.

    python -m benchmarks.web                      # writes the "In the browser" section of benchmarks/RESULTS.md
    python -m benchmarks.web --runs 20 --tasks facades_label2photo sat2map map2sat

Each task's bundled model is exported with `python -m pix2pix_hub.export_web` (float32, and int8 where calibrated)
into a temporary folder, and web/ is served from a loopback static server twice: with the cross-origin isolation
headers (the page runs wasm threads) and without (one thread). Headless Chromium times `--runs` translations of the
task's first example at 256x256 per model, precision and server (`session.run` only, after one warm-up run). The
server round trip is `gradio_client`'s `/translate` on `python app.py` (bundled weights, offline) with the same
example: upload, queue, the model in the app's own precision, PNG encoding and download, median of `--runs`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from gradio_client import Client, handle_file
from playwright.sync_api import sync_playwright

from benchmarks.common import write_section
from pix2pix_hub import Pix2PixPipeline, export_web
from pix2pix_hub.inference.web import RUNTIME_FILES, RUNTIME_FOLDER
from space.launch import start_app
from space.tasks import get_task
from space.web_tab import WEB_DIR, serve_static

ROOT = Path(__file__).resolve().parent.parent
TIMED = """async ([precision, runs]) => {
  const state = window.pix2pixWeb;
  await state.model.translate(state.ort, state.last.input, precision, 0);  // warm-up: session and first-run planning
  const times = [];
  for (let i = 0; i < runs; i++) {
    times.push((await state.model.translate(state.ort, state.last.input, precision, 0)).ms);
  }
  return [times, state.ort.env.wasm.numThreads];
}"""


def export_tasks(tasks: list[str], out: Path) -> dict[str, dict]:
    """Each task's model.json after the export CLI wrote it into `out`."""
    for name in tasks:
        task = get_task(name)
        flags = ["--model", str(task.bundled_dir), "--out", str(out), "--task", name]
        flags += ["--subfolder", task.subfolder] if task.subfolder else []
        flags += ["--palette", {"facades_label2photo": "facades", "map2sat": "maps"}[name]] if task.palette else []
        export_web.main([*flags, "--examples", str(task.examples[0].input)])
    return {name: json.loads((out / name / "model.json").read_text()) for name in tasks}


def browser_times(browser, out: Path, models: dict[str, dict], isolated: bool, runs: int) -> dict[tuple, tuple]:
    """(task, precision) -> (median ms, threads) in one Chromium page served with or without isolation."""
    server, url = serve_static({"/": WEB_DIR, "/models/": out}, isolated=isolated)
    page = browser.new_page()
    page.goto(url + "index.html")
    times = {}
    try:
        for task, model in models.items():
            page.select_option("#task", f"{task}/model.json")
            page.wait_for_function(
                f"window.pix2pixWeb.model.task === '{task}' && window.pix2pixWeb.last?.task === '{task}'"
            )
            for precision in model["graphs"]:
                samples, threads = page.evaluate(TIMED, [precision, runs])
                times[task, precision] = (statistics.median(samples), threads)
    finally:
        page.close()
        server.shutdown()
    return times


def server_round_trips(tasks: list[str], runs: int) -> dict[str, tuple[float, str]]:
    """task -> (median ms of /translate from request to downloaded PNG, the precision the app runs)."""
    with tempfile.TemporaryDirectory() as folder:
        env = {"HF_HUB_OFFLINE": "1", "GRADIO_TEMP_DIR": str(Path(folder) / "uploads")}
        process, url = start_app(env, Path(folder) / "app.log")
        try:
            client = Client(url, verbose=False, download_files=str(Path(folder) / "downloads"))
            results = {}
            for name in tasks:
                example = handle_file(str(get_task(name).examples[0].input))
                client.predict(name, example, api_name="/translate")  # model load and warm-up
                samples = []
                for _ in range(runs):
                    start = time.perf_counter()
                    client.predict(name, example, api_name="/translate")
                    samples.append(1000 * (time.perf_counter() - start))
                task = get_task(name)
                precision = Pix2PixPipeline.from_pretrained(task.bundled_dir, subfolder=task.subfolder).precision
                results[name] = (statistics.median(samples), precision)
        finally:
            process.terminate()
            process.wait(timeout=60)
    return results


def sizes(folder: Path) -> tuple[float, float]:
    """(MB, MB gzip-compressed as a static host would serve it) of a set of files."""
    files = [folder] if folder.is_file() else [folder / name for name in RUNTIME_FILES]
    raw = sum(path.stat().st_size for path in files)
    return raw / 1e6, sum(len(gzip.compress(path.read_bytes(), 6)) for path in files) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["facades_label2photo", "sat2map", "map2sat"])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "models"
        models = export_tasks(args.tasks, out)
        with sync_playwright() as playwright:
            executable = os.environ.get("PIX2PIX_HUB_CHROMIUM") or shutil.which("chromium")  # else Playwright's
            browser = playwright.chromium.launch(executable_path=executable, args=["--headless", "--no-sandbox"])
            threaded = browser_times(browser, out, models, isolated=True, runs=args.runs)
            single = browser_times(browser, out, models, isolated=False, runs=args.runs)
            browser.close()
        server = server_round_trips(args.tasks, args.runs)
        rows = []
        for (task, precision), (one_ms, _) in single.items():
            many_ms, threads = threaded[task, precision]
            mb, gz = sizes(out / task / models[task]["graphs"][precision]["file"])
            app_ms, app_precision = server[task]
            app = f"{app_ms:.0f} ({app_precision})" if app_precision == precision else "-"
            rows.append(
                f"| {task} | {precision} | {mb:.1f} / {gz:.1f} | {one_ms:.0f} | {many_ms:.0f} ({threads}) | {app} |"
            )
        runtime_mb, runtime_gz = sizes(out / RUNTIME_FOLDER)
    body = (
        f"256x256, median of {args.runs} runs after a warm-up. Browser: headless Chromium, onnxruntime-web "
        f"{json.loads((WEB_DIR / 'package.json').read_text())['dependencies']['onnxruntime-web']} (wasm), "
        "`session.run` only; threads when the page is cross-origin isolated (COOP/COEP headers), one thread "
        "without (the app's tab). App: `gradio_client` `/translate` on `python app.py` with the bundled weights, "
        "request to downloaded PNG (upload, queue, the model in the app's precision, encoding). Download: the "
        f"graph, raw / gzip; plus the runtime once for all models: {runtime_mb:.1f} / {runtime_gz:.1f} MB.\n\n"
        "| model | precision | download MB | browser ms, 1 thread | browser ms, threads (n) | app round trip ms |\n"
        "|---|---|---|---|---|---|\n" + "\n".join(rows)
    )
    print(body)
    write_section("In the browser (ONNX Runtime Web) vs the app's round trip", body)


if __name__ == "__main__":
    main()
