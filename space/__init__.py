"""The pix2pix Space: the Gradio app behind `python app.py`, kept out of the wheel with the files it serves.

`tasks` is its configuration (what each task takes, where its weights and examples live); `forward` loads each
task's model once and lets concurrent requests share forward passes; `handlers` turns uploads and sketches into
translations; `ui` lays the page out from the task list; `launch` starts `python app.py` in a child process on a
free port, as the app tests and the benchmarks do.
"""
