"""pix2pix in the browser: pick a task, sketch or upload its input, compare the translation. Run `python app.py`.

The Space lives in `space/` (tasks, shared model forward passes, handlers, the page); this file launches it with
the serving settings: a bounded queue, an upload size limit, a private temporary folder removed on exit.
Host and port come from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, a task's weights from PIX2PIX_MODEL_<TASK>.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path

from space.forward import warm_up
from space.tasks import EXAMPLES_DIR
from space.ui import CSS, build_demo

QUEUE_SIZE = 64
MAX_FILE_SIZE = "20mb"


def main() -> None:
    """Serve the Space until Ctrl-C or SIGTERM, then delete every upload and result."""
    # Spaces stop apps with SIGTERM: turn it into Ctrl-C so that the `finally` below runs.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    # Uploads and results live in a private folder, swept while running and removed when the app stops.
    base = Path(os.environ.get("GRADIO_TEMP_DIR") or tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    cache = tempfile.mkdtemp(prefix="pix2pix-app-", dir=base)
    os.environ["GRADIO_TEMP_DIR"] = cache
    try:
        threading.Thread(target=warm_up, daemon=True).start()
        demo = build_demo()
        demo.queue(max_size=QUEUE_SIZE).launch(  # host and port: GRADIO_SERVER_NAME / GRADIO_SERVER_PORT
            share=False,
            quiet=True,  # Gradio's banner suggests `share=True`; this app never makes a share link
            prevent_thread_lock=True,
            run_history=False,  # nothing of a user's run is recorded, not even in their browser
            enable_monitoring=False,  # its latency summary shows "p50 0 ms" once a request has failed
            max_file_size=MAX_FILE_SIZE,
            allowed_paths=[str(EXAMPLES_DIR)],
            css=CSS,
        )
        print(f"pix2pix app on {demo.local_url} (no share link; Ctrl-C stops it)", flush=True)
        demo.block_thread()
    finally:
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
