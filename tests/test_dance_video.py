"""The Dance tab with a video, in Chromium and through the API: `python app.py` on a tiny subject model
(PIX2PIX_MODEL_EDN_SUBJECT), a short clip of real frames (tests/fixtures/edn_video) uploaded, an mp4 back with one
frame per input frame: the source, the fitted stick figure and the subject side by side."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from pix2pix_hub.dance import CANVAS
from pix2pix_hub.video import read_video, write_video
from space.dance import MODEL_ENV, MY_VIDEO
from space.launch import start_app
from tests.test_everybody_dance_now import tiny_dancer_folder
from tests.test_video import source_frames

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
FRAMES = 6


@pytest.fixture(scope="module")
def video_app(tmp_path_factory):
    root = tmp_path_factory.mktemp("dance_video_app")
    env = {
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(root / "hf"),
        "GRADIO_TEMP_DIR": str(root / "tmp"),
        MODEL_ENV: str(tiny_dancer_folder(root / "edn")),
    }
    process, url = start_app(env, root / "app.log", timeout=240)
    yield url, root / "tmp"
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_video(source_frames()[:FRAMES], 7.5, tmp_path_factory.mktemp("clip") / "my_dance.mp4")


def test_browser_an_uploaded_clip_comes_back_as_a_playable_mp4_with_a_frame_per_input_frame(browser, video_app, clip):
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    page = context.new_page()
    page.goto(video_app[0])
    page.get_by_role("tab", name="Dance").click()
    page.locator("#dance-clip input[type=file]").set_input_files(str(clip))
    page.get_by_label(MY_VIDEO).wait_for(timeout=30_000)
    page.wait_for_function(f"() => document.querySelector('#dance-source input[value=\"{MY_VIDEO}\"]').checked")
    page.click("#dance-button")
    page.wait_for_function(
        "() => { const v = document.querySelector('#dance-video video'); return v && v.readyState >= 1; }",
        timeout=120_000,
    )
    source = page.eval_on_selector("#dance-video video", "video => video.currentSrc || video.src")
    body = page.request.get(source).body()
    assert body[4:8] == b"ftyp"  # an mp4 the browser plays
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "dance-video.mp4").write_bytes(body)
    made = read_video(ARTIFACTS / "dance-video.mp4", max_seconds=10)
    assert len(made.frames) == FRAMES and made.fps == 7.5 and made.frames[0].size == (3 * CANVAS, CANVAS)
    assert f"{FRAMES} frames at 7.5 fps" in page.locator("#dance-made").inner_text()
    page.screenshot(path=str(ARTIFACTS / "app-dance-video.png"), full_page=True)
    context.close()


def test_the_api_refuses_a_dance_from_video_without_a_video_and_names_a_bad_file_leaving_no_video(video_app, tmp_path):
    url, temporary = video_app
    before = set(temporary.rglob("*.mp4"))
    client = Client(url, verbose=False, download_files=str(tmp_path), analytics_enabled=False)
    with pytest.raises(Exception, match="Upload a video or record one with the webcam first"):
        client.predict(MY_VIDEO, [], 6, True, None, api_name="/dance")
    (tmp_path / "holiday.mp4").write_text("not a video")
    with pytest.raises(Exception, match=r"holiday.mp4: not a video ffmpeg can read") as refused:
        client.predict(MY_VIDEO, [], 6, True, handle_file(str(tmp_path / "holiday.mp4")), api_name="/dance")
    assert str(tmp_path) not in str(refused.value)
    assert not [path.name for path in set(temporary.rglob("*.mp4")) - before if "dance" in path.parent.name]
