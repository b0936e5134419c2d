// The drawing canvas: hard-edged discs in exact brush colours (label maps must hold only palette colours, so no
// anti-aliasing), an eraser that paints the background, undo, clear, and images loaded onto it.

const UNDO_LIMIT = 50;

export class SketchPad {
  /** `onStrokeEnd()` is called when a stroke (or any other change) is finished. */
  constructor(canvas, onStrokeEnd) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d", { willReadFrequently: true });
    this.onStrokeEnd = onStrokeEnd;
    this.undoStack = [];
    this.color = [0, 0, 0];
    this.radius = 6;
    this.last = null;
    canvas.addEventListener("pointerdown", (event) => this.down(event));
    canvas.addEventListener("pointermove", (event) => this.move(event));
    for (const name of ["pointerup", "pointercancel", "pointerleave"]) {
      canvas.addEventListener(name, () => this.up());
    }
  }

  /** A blank canvas of the model's size in the background colour; the undo history starts over. */
  reset(width, height, background) {
    this.canvas.width = width;
    this.canvas.height = height;
    this.background = background;
    this.image = this.context.createImageData(width, height);
    this.fill(background);
    this.undoStack = [];
  }

  fill(color) {
    const data = this.image.data;
    for (let i = 0; i < data.length; i += 4) {
      [data[i], data[i + 1], data[i + 2], data[i + 3]] = [...color, 255];
    }
    this.show();
  }

  show() {
    this.context.putImageData(this.image, 0, 0);
  }

  remember() {
    this.undoStack.push(new Uint8ClampedArray(this.image.data));
    if (this.undoStack.length > UNDO_LIMIT) this.undoStack.shift();
  }

  undo() {
    if (!this.undoStack.length) return false;
    this.image.data.set(this.undoStack.pop());
    this.show();
    this.onStrokeEnd();
    return true;
  }

  clear() {
    this.remember();
    this.fill(this.background);
    this.onStrokeEnd();
  }

  /** Put an image (an example or an upload) on the canvas, resized to it when its size differs. */
  async load(blob) {
    const options = { colorSpaceConversion: "none", premultiplyAlpha: "none" };
    let bitmap = await createImageBitmap(blob, options);
    if (bitmap.width !== this.canvas.width || bitmap.height !== this.canvas.height) {
      const size = { resizeWidth: this.canvas.width, resizeHeight: this.canvas.height, resizeQuality: "high" };
      bitmap = await createImageBitmap(blob, { ...options, ...size });
    }
    this.remember();
    this.context.fillStyle = `rgb(${this.background.join(",")})`; // transparent pixels show the background
    this.context.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.context.drawImage(bitmap, 0, 0);
    this.image = this.context.getImageData(0, 0, this.canvas.width, this.canvas.height);
    this.onStrokeEnd();
  }

  pixels() {
    return this.image.data;
  }

  point(event) {
    const box = this.canvas.getBoundingClientRect();
    return [
      Math.floor(((event.clientX - box.left) / box.width) * this.canvas.width),
      Math.floor(((event.clientY - box.top) / box.height) * this.canvas.height),
    ];
  }

  stamp(cx, cy) {
    const { width, height, data } = this.image;
    const r = this.radius;
    for (let y = Math.max(0, cy - r); y <= Math.min(height - 1, cy + r); y++) {
      for (let x = Math.max(0, cx - r); x <= Math.min(width - 1, cx + r); x++) {
        if ((x - cx) ** 2 + (y - cy) ** 2 > r * r) continue;
        const i = 4 * (y * width + x);
        [data[i], data[i + 1], data[i + 2], data[i + 3]] = [...this.color, 255];
      }
    }
  }

  line([x0, y0], [x1, y1]) {
    const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    for (let s = 0; s <= steps; s++) {
      this.stamp(Math.round(x0 + ((x1 - x0) * s) / steps), Math.round(y0 + ((y1 - y0) * s) / steps));
    }
    this.show();
  }

  down(event) {
    this.canvas.setPointerCapture?.(event.pointerId);
    this.remember();
    this.last = this.point(event);
    this.line(this.last, this.last);
  }

  move(event) {
    if (!this.last) return;
    const here = this.point(event);
    this.line(this.last, here);
    this.last = here;
  }

  up() {
    if (!this.last) return;
    this.last = null;
    this.onStrokeEnd();
  }
}
