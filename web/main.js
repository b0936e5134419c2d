// The page: pick an exported model, sketch (or load an example, or upload), and each finished stroke is translated
// in this browser. Models come from `?models=URL` (default models/ next to this page), as written by
// `python -m pix2pix_hub.export_web --out DIR`; so does ONNX Runtime Web (DIR/runtime/). `?task=NAME` opens a task.

import { SketchPad } from "./sketch.js";
import { WebModel, loadRuntime } from "./translator.js";

const DEBOUNCE_MS = 150;
const $ = (id) => document.getElementById(id);
const query = new URLSearchParams(location.search);
const modelsBase = new URL(query.get("models") || "models/", location.href);
if (!modelsBase.pathname.endsWith("/")) modelsBase.pathname += "/";

// What the page is doing, for people (the status line) and for tests/test_web.py and benchmarks/web.py.
const state = { model: null, ort: null, runs: 0, busy: false, pending: false, again: false, last: null, error: null };
window.pix2pixWeb = state;
const pad = new SketchPad($("sketch"), schedule);
let eraser = false;
let brush = [0, 0, 0];

function setStatus(text, error = false) {
  $("status").textContent = text;
  $("status").dataset.error = String(error);
  state.error = error ? text : null;
}

function idle() {
  return !state.busy && !state.pending && !state.again;
}

function updateBusy() {
  $("status").dataset.busy = String(!idle());
}

function schedule() {
  clearTimeout(state.timer);
  state.pending = true;
  updateBusy();
  state.timer = setTimeout(translateNow, DEBOUNCE_MS);
}

function threadsText() {
  const threads = state.ort.env.wasm.numThreads;
  return `wasm, ${threads} thread${threads === 1 ? "" : "s"}${self.crossOriginIsolated ? "" : " (page not cross-origin isolated)"}`;
}

async function translateNow() {
  if (!state.model) return;
  if (state.busy) {
    state.again = true;
    return;
  }
  Object.assign(state, { busy: true, pending: false });
  updateBusy();
  const model = state.model;
  const precision = $("precision").value;
  const seed = Number($("seed").value) >>> 0;
  const input = new Uint8ClampedArray(pad.pixels());
  try {
    const { rgba, ms } = await model.translate(state.ort, input, precision, seed);
    if (model === state.model) {
      $("output").getContext("2d").putImageData(new ImageData(rgba, model.width, model.height), 0, 0);
      state.runs += 1;
      state.last = { task: model.task, precision, seed, ms, input, output: rgba };
      setStatus(`${model.title ?? model.task}, ${precision}: ${ms.toFixed(0)} ms in your browser (${threadsText()})`);
    }
  } catch (error) {
    setStatus(`Translation failed: ${error.message ?? error}`, true);
  } finally {
    state.busy = false;
    if (state.again) {
      state.again = false;
      translateNow();
    }
    updateBusy();
  }
}

function pressOnly(button) {
  for (const other of document.querySelectorAll("#brushes .swatch")) other.setAttribute("aria-pressed", "false");
  button?.setAttribute("aria-pressed", "true");
}

function setBrush(color, button) {
  brush = color;
  eraser = false;
  $("eraser").setAttribute("aria-pressed", "false");
  pad.color = color;
  pressOnly(button);
}

/** The task's brushes: its label classes, a pen for edge maps, or a free colour for photos. */
function showBrushes(sketch) {
  const area = $("brushes");
  area.replaceChildren();
  pad.radius = Number($("size").value);
  if (sketch.kind === "labels") {
    for (const [index, label] of sketch.palette.entries()) {
      const button = document.createElement("button");
      Object.assign(button, { type: "button", className: "swatch", title: label.color.join(", ") });
      button.innerHTML = `<i style="background: rgb(${label.color.join(",")})"></i>`;
      button.append(label.name);
      button.addEventListener("click", () => setBrush(label.color, button));
      area.append(button);
      if (index === 1) setBrush(label.color, button);
    }
  } else if (sketch.kind === "edges") {
    area.textContent = "Draw the outline with the pen.";
    setBrush(sketch.pen, null);
    pad.radius = 1;
    $("size").value = 1;
  } else {
    const picker = Object.assign(document.createElement("input"), { type: "color", value: "#808080" });
    const hex = (value) => [1, 3, 5].map((i) => parseInt(value.slice(i, i + 2), 16));
    picker.addEventListener("input", () => setBrush(hex(picker.value), null));
    area.append("This task translates photos: load an example or upload one, or paint with ", picker);
    setBrush(hex(picker.value), null);
  }
}

async function loadExample(index) {
  const model = state.model;
  const response = await fetch(new URL(model.examples[index], model.url));
  if (!response.ok) throw new Error(`${model.examples[index]}: HTTP ${response.status}`);
  await pad.load(await response.blob());
}

function showExamples(model) {
  const area = $("examples");
  area.replaceChildren();
  model.examples.forEach((path, index) => {
    const button = Object.assign(document.createElement("button"), { type: "button", title: `Example ${index + 1}` });
    button.dataset.index = String(index);
    button.append(Object.assign(document.createElement("img"), { src: new URL(path, model.url).href, alt: "" }));
    button.addEventListener("click", () => loadExample(index).catch((e) => setStatus(e.message, true)));
    area.append(button);
  });
  $("random-example").disabled = model.examples.length === 0;
}

function describe(model) {
  const mb = (precision) => (model.graphs[precision].bytes / 1e6).toFixed(1);
  const sizes = model.precisions.map((precision) => `${precision} ${mb(precision)} MB`).join(", ");
  const mode = model.dropout ? "paper mode: dropout on, its noise drawn from the seed" : "eval mode";
  const codes = (model.latents ?? []).map(({ name, channels }) => `${name} (${channels} numbers)`).join(", ");
  const latents = codes ? `; latent code ${codes} drawn from the seed: a new seed, another output` : "";
  const size = `${model.height}x${model.width}`;
  return `${model.title ?? model.task}: ${model.arch}, ${size}, ${mode}${latents}. Download: ${sizes}.`;
}

async function selectTask(path) {
  const model = await WebModel.load(new URL(path, modelsBase).href);
  state.model = model;
  $("precision").replaceChildren(...model.precisions.map((p) => new Option(p, p)));
  $("precision").value = model.precisions.includes("int8") ? "int8" : "float32";
  $("seed-control").hidden = !(model.dropout || model.latents?.length); // the seed draws the model's noise
  pad.reset(model.width, model.height, model.sketch.background ?? [255, 255, 255]);
  Object.assign($("output"), { width: model.width, height: model.height });
  showBrushes(model.sketch);
  showExamples(model);
  $("about").textContent = describe(model);
  if (model.examples.length) await loadExample(0);
  else schedule();
}

function connect() {
  $("task").addEventListener("change", () => selectTask($("task").value).catch((e) => setStatus(e.message, true)));
  $("precision").addEventListener("change", schedule);
  $("seed").addEventListener("change", schedule);
  $("new-seed").addEventListener("click", () => {
    $("seed").value = String(Math.floor(Math.random() * 2 ** 32));
    schedule();
  });
  $("size").addEventListener("input", () => (pad.radius = Number($("size").value)));
  $("eraser").addEventListener("click", () => {
    eraser = !eraser;
    $("eraser").setAttribute("aria-pressed", String(eraser));
    pad.color = eraser ? pad.background : brush;
  });
  $("undo").addEventListener("click", () => pad.undo());
  $("clear").addEventListener("click", () => pad.clear());
  $("random-example").addEventListener("click", () => {
    const count = state.model?.examples.length ?? 0;
    if (count) loadExample(Math.floor(Math.random() * count)).catch((e) => setStatus(e.message, true));
  });
  $("upload").addEventListener("change", () => {
    const file = $("upload").files[0];
    if (file) pad.load(file).catch(() => setStatus(`${file.name}: not an image this browser can decode`, true));
  });
}

async function start() {
  connect();
  const indexUrl = new URL("index.json", modelsBase);
  const response = await fetch(indexUrl).catch(() => null);
  if (!response?.ok) {
    throw new Error(
      `No exported models at ${indexUrl}. Run \`python -m pix2pix_hub.export_web --model weights/TASK --out web/models\` ` +
        "(after `npm ci --prefix web`), or open this page with ?models=URL_OF_AN_EXPORT_FOLDER.",
    );
  }
  const index = await response.json();
  if (!index.models.length) throw new Error(`${indexUrl} lists no models`);
  $("task").replaceChildren(...index.models.map((entry) => new Option(entry.title ?? entry.task, entry.path)));
  const first = index.models.find((entry) => entry.task === query.get("task")) ?? index.models[0];
  $("task").value = first.path;
  state.ort = await loadRuntime(modelsBase);
  await selectTask(first.path);
}

start().catch((error) => {
  state.pending = false;
  updateBusy();
  setStatus(error.message ?? String(error), true);
});
