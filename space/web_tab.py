"""The "In your browser" tab: the static page of `web/` with every task's model exported for ONNX Runtime Web.

When the tab is first opened, the app builds one static site in a temporary folder from its own files: the page,
onnxruntime-web's three wasm files (from `web/node_modules` after `npm ci --prefix web`, or PIX2PIX_WEB_RUNTIME)
and each task that has weights here, exported by `pix2pix_hub.inference.web` exactly as the export CLI does. Gradio
serves that folder as static files and the tab shows the page in a frame: the models then run in the visitor's
browser, with nothing fetched from a CDN. `serve_static` serves the same files from a plain HTTP server (with the
headers that give the page threads), as any static host would: for the tests and the benchmark.
"""

from __future__ import annotations

import atexit
import functools
import html
import http.server
import logging
import os
import shutil
import tempfile
import threading
import urllib.parse
from pathlib import Path

import gradio as gr

from pix2pix_hub.export_web import PEN, labels_sketch
from pix2pix_hub.inference.web import RUNTIME_FILES, copy_runtime, export_web_model, write_site_index

from .tasks import REPO_ROOT, TASKS, Task

WEB_DIR = REPO_ROOT / "web"
PAGE_FILES = ("index.html", "main.js", "sketch.js", "translator.js", "style.css")
RUNTIME_ENV = "PIX2PIX_WEB_RUNTIME"
MODELS_FOLDER = "models"
CONTENT_TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm"}
ISOLATION_HEADERS = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"}
_SITE_LOCK = threading.Lock()
logger = logging.getLogger(__name__)


def runtime_dist() -> Path:
    """Where onnxruntime-web's npm files are: PIX2PIX_WEB_RUNTIME, else web/node_modules/onnxruntime-web/dist."""
    return Path(os.environ.get(RUNTIME_ENV) or WEB_DIR / "node_modules" / "onnxruntime-web" / "dist")


def task_sketch(task: Task) -> dict:
    """The page's brushes for a task: its palette for label maps, the pen for edge maps, a free colour for photos."""
    if task.input_kind == "labels":
        return labels_sketch(task.palette)
    return PEN if task.input_kind == "edges" else {"kind": "photo"}


def export_task(task: Task, models: Path) -> bool:
    """Export a task's model from the first local source that has it; False when this machine has none."""
    for source in task.model_sources():
        if Path(source).is_dir() and (Path(source) / task.weights_file).is_file():
            kwargs = {"subfolder": task.subfolder} if task.subfolder else {}
            examples = [example.input for example in task.examples]
            export_web_model(source, models, task.name, task_sketch(task), examples, title=task.title, **kwargs)
            return True
    return False


@functools.cache
def build_site() -> Path:
    """The page, the runtime and every task with local weights, in one temporary folder (made once per process)."""
    site = Path(tempfile.mkdtemp(prefix="pix2pix-web-"))
    atexit.register(shutil.rmtree, site, ignore_errors=True)
    for name in PAGE_FILES:
        shutil.copyfile(WEB_DIR / name, site / name)
    models = site / MODELS_FOLDER
    version = copy_runtime(runtime_dist(), models)
    for task in TASKS.values():
        try:
            export_task(task, models)
        except Exception:  # a broken weights folder costs its own task, not the tab
            logger.exception("in-browser export of %s failed; the page goes without it", task.name)
    write_site_index(models, version)
    return site


def show_page(task_name: str | None = None) -> str:
    """The tab's content: the page in a frame (on the app's task when it has a model) once the site is built, or
    what is missing in plain words."""
    try:
        with _SITE_LOCK:
            site = build_site()
    except FileNotFoundError:
        return runtime_missing()
    gr.set_static_paths([site])
    query = f"?task={urllib.parse.quote(task_name)}" if task_name else ""
    src = html.escape(f"gradio_api/file={site / 'index.html'}{query}")
    return (
        f'<p><a href="{src}" target="_blank" rel="noopener">Open the page in its own tab</a> (or host it anywhere: '
        "README, In your browser).</p>"
        f'<iframe id="web-page" src="{src}" title="pix2pix in your browser" '
        'style="width: 100%; height: 1100px; border: 0"></iframe>'
    )


def runtime_missing() -> str:
    """What to run when onnxruntime-web's files are not here: the exact command, in this checkout; no restart needed
    (the site is built at the next opening of the tab)."""
    dist = runtime_dist()
    if os.environ.get(RUNTIME_ENV):
        fix = (
            f"{RUNTIME_ENV} points at <code>{html.escape(str(dist))}</code>, which lacks them: point it at the "
            "<code>node_modules/onnxruntime-web/dist</code> folder of an <code>npm ci --prefix web</code>, or unset "
            "it, and restart the app."
        )
    else:
        fix = (
            f"Run <code>npm ci --prefix web</code> in <code>{html.escape(str(REPO_ROOT))}</code> (npm comes with "
            "Node.js), then open this tab again: no restart needed."
        )
    return (
        "<p>The in-browser page needs onnxruntime-web's files "
        f"(<code>{'</code>, <code>'.join(RUNTIME_FILES)}</code>), which npm installs. {fix}</p>"
    )


def web_tab(task_choice: gr.Dropdown | None = None) -> None:
    """The "In your browser" tab; its site is built when a visitor first opens it (seconds per model), and the page
    opens on the task picked in `task_choice`."""
    with gr.Tab("In your browser", id="browser") as tab:
        page = gr.HTML(
            "<p>Open this tab to run the models in your browser: the page and the models are being prepared.</p>",
            elem_id="web-tab",
        )
    tab.select(show_page, task_choice, page, api_visibility="private")


class _StaticHandler(http.server.SimpleHTTPRequestHandler):
    """Files from a set of folders by URL prefix, with JS and wasm types and, when asked, isolation headers."""

    routes: dict[str, Path] = {}
    isolated = True
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **CONTENT_TYPES}

    def translate_path(self, path: str) -> str:
        path = path.split("?", 1)[0].split("#", 1)[0]
        for prefix, folder in sorted(self.routes.items(), key=lambda item: -len(item[0])):
            if path.startswith(prefix):
                relative = Path(path[len(prefix) :].lstrip("/"))
                if ".." in relative.parts:
                    break
                return str(folder / relative)
        return str(Path(os.devnull) / "missing")

    def end_headers(self) -> None:
        for name, value in ISOLATION_HEADERS.items() if self.isolated else ():
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, *args) -> None:
        pass


def serve_static(routes: dict[str, Path], isolated: bool = True) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve folders by URL prefix (e.g. {"/": web/, "/models/": export}) on a loopback port; returns it and its URL."""
    handler = type("Handler", (_StaticHandler,), {"routes": dict(routes), "isolated": isolated})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"
