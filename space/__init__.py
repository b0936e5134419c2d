"""The pix2pix Space: the Gradio app behind `python app.py`, kept out of the wheel with the files it serves.

`tasks` is its configuration (what each task takes, where its weights and examples live); `forward` loads each
task's model once and lets concurrent requests share forward passes; `handlers` turns uploads and sketches into
translations, `variations` into many for a model with a latent code; `sketch` is the canvas every drawing tab
shares; `ui` lays the page out from the task list; `launch` starts `python app.py` in a child process on a
free port, as the app tests and the benchmarks do.
"""

import warnings

# FastAPI builds request fields with Field(alias=...) ("body", gradio's "session_hash"), which pydantic 2.13 warns
# has no effect: a warning about two libraries' versions, not about this app, that reached the app's console at some
# launches (not at every one: warning filters are process-wide and the warm-up thread sets its own). Filtered here,
# before gradio loads, for any field name.
warnings.filterwarnings("ignore", message="The 'alias' attribute with value '", category=UserWarning)
