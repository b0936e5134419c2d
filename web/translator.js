// One exported model (pix2pix_hub/inference/web.py wrote it) run by ONNX Runtime Web on the wasm backend.
// Pre- and post-processing repeat pix2pix_hub/images.py step by step in float32, and the dropout masks of
// "paper"-mode models and the latent codes of generators that take one come from mulberry32(seed), which web.py's
// draw_web_masks and draw_web_latents reproduce in numpy.

let runtime = null;

/** ONNX Runtime Web from the export folder's runtime/ (no CDN): threads when the page is cross-origin isolated. */
export function loadRuntime(modelsBase) {
  if (!runtime) {
    runtime = (async () => {
      const folder = new URL("runtime/", modelsBase).href;
      const ort = await import(`${folder}ort.wasm.min.mjs`);
      ort.env.wasm.wasmPaths = folder;
      const cores = navigator.hardwareConcurrency || 1;
      ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, cores) : 1;
      return ort;
    })();
  }
  return runtime;
}

/** Draws 1, 2, ... of mulberry32(seed), each a float in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t = (t + Math.imul(t ^ (t >>> 7), t | 61)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Dropout masks for one image, layer after layer from one stream: keep where a draw < 1 - p, scaled 1/(1-p). */
export function drawMasks(dropout, seed) {
  const next = mulberry32(seed);
  return dropout.shapes.map((shape, layer) => {
    const p = dropout.probabilities[layer];
    const scale = Math.fround(1 / Math.fround(1 - p));
    const mask = new Float32Array(shape.reduce((n, side) => n * side, 1));
    for (let i = 0; i < mask.length; i++) mask[i] = next() < 1 - p ? scale : 0;
    return mask;
  });
}

/** Latent codes for one image, input after input: N(0, 1) by Box-Muller over mulberry32(seed ^ 0x9e3779b9). */
export function drawLatents(latents, seed) {
  const next = mulberry32((seed ^ 0x9e3779b9) >>> 0);
  return latents.map(({ channels }) => {
    const code = new Float32Array(channels);
    for (let i = 0; i < channels; i++) {
      const u = next();
      const v = next();
      code[i] = Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }
    return code;
  });
}

/** RGBA pixels to the (1, C, H, W) float32 input in [-1, 1], as image_to_tensor: v / 127.5 - 1 in float32. */
export function toTensorData(rgba, channels) {
  const pixels = rgba.length / 4;
  const data = new Float32Array(channels * pixels);
  for (let i = 0; i < pixels; i++) {
    const [r, g, b] = [rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]];
    if (channels === 1) {
      const grey = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16; // PIL's convert("L")
      data[i] = Math.fround(grey / 127.5) - 1;
    } else {
      data[i] = Math.fround(r / 127.5) - 1;
      data[pixels + i] = Math.fround(g / 127.5) - 1;
      data[2 * pixels + i] = Math.fround(b / 127.5) - 1;
    }
  }
  return data;
}

/** Round half to even, as numpy's round. */
function roundHalfEven(x) {
  const floor = Math.floor(x);
  const rest = x - floor;
  if (rest > 0.5) return floor + 1;
  if (rest < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** The (1, C, H, W) output to RGBA bytes, as tensor_to_image: ((clamp(x) + 1) * 127.5).round() in float32. */
export function toRgba(data, channels, pixels) {
  const rgba = new Uint8ClampedArray(4 * pixels);
  for (let i = 0; i < pixels; i++) {
    for (let c = 0; c < 3; c++) {
      const x = Math.min(1, Math.max(-1, data[(channels === 1 ? 0 : c) * pixels + i]));
      rgba[4 * i + c] = roundHalfEven(Math.fround(Math.fround(x + 1) * 127.5));
    }
    rgba[4 * i + 3] = 255;
  }
  return rgba;
}

export class WebModel {
  /** model.json's facts, with `url` the folder it was read from. */
  constructor(facts, url) {
    Object.assign(this, facts);
    this.url = url;
    this.sessions = new Map();
  }

  static async load(modelUrl) {
    const response = await fetch(modelUrl);
    if (!response.ok) throw new Error(`${modelUrl}: HTTP ${response.status}`);
    return new WebModel(await response.json(), new URL(".", modelUrl).href);
  }

  get precisions() {
    return Object.keys(this.graphs);
  }

  /** The ONNX Runtime session of one precision, downloaded and created once. */
  async session(ort, precision) {
    if (!this.graphs[precision]) throw new Error(`${this.task} has no ${precision} graph`);
    if (!this.sessions.has(precision)) {
      const created = (async () => {
        const response = await fetch(new URL(this.graphs[precision].file, this.url));
        if (!response.ok) throw new Error(`${this.graphs[precision].file}: HTTP ${response.status}`);
        const bytes = new Uint8Array(await response.arrayBuffer());
        return ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
      })();
      this.sessions.set(precision, created);
      created.catch(() => this.sessions.delete(precision));
    }
    return this.sessions.get(precision);
  }

  /** Translate RGBA pixels of the model's size; returns the output's RGBA bytes and the milliseconds it took. */
  async translate(ort, rgba, precision, seed) {
    const session = await this.session(ort, precision);
    const shape = [1, this.in_channels, this.height, this.width];
    const feeds = { [this.input]: new ort.Tensor("float32", toTensorData(rgba, this.in_channels), shape) };
    if (this.dropout) {
      drawMasks(this.dropout, seed).forEach((mask, layer) => {
        feeds[this.dropout.inputs[layer]] = new ort.Tensor("float32", mask, this.dropout.shapes[layer]);
      });
    }
    if (this.latents) {
      drawLatents(this.latents, seed).forEach((code, index) => {
        feeds[this.latents[index].name] = new ort.Tensor("float32", code, [1, code.length]);
      });
    }
    const start = performance.now();
    const outputs = await session.run(feeds);
    const ms = performance.now() - start;
    const pixels = this.height * this.width;
    return { rgba: toRgba(outputs[this.output].data, this.out_channels, pixels), ms };
  }
}
