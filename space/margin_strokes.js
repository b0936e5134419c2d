// Strokes that start in the grey margin around a sketch canvas's image (the Sketch and Many ways tabs): Gradio's
// ImageEditor drops a stroke whose first point is off the image, even when it then crosses the image. This starts it
// where the pointer enters the image instead. Runs once per page (the legend's js_on_load); SKETCH_SIZE is the
// canvas side in image pixels.
if (!window.pix2pixMarginStrokes) {
  window.pix2pixMarginStrokes = true;
  const PADDING = 30; // the editor's border around the image at its "fit" zoom (Gradio's border_padding)
  const INSET = 3; // start a little inside the edge, where rounding cannot put the point off the image
  let pending = null; // a press in the margin: the canvas and the pointer's last position

  // The image's rectangle on screen while the editor shows it whole and centred (its zoom is "fit"), else null.
  const imageRect = (canvas) => {
    const box = canvas.getBoundingClientRect();
    const scale = Math.min((box.width - 2 * PADDING) / SKETCH_SIZE, (box.height - 2 * PADDING) / SKETCH_SIZE);
    const zoomText = [...canvas.closest(".sketch-canvas").querySelectorAll("*")]
      .map((node) => (node.childElementCount === 0 ? node.textContent.trim() : ""))
      .find((text) => /^\d+%$/.test(text));
    if (!zoomText || Math.abs(parseFloat(zoomText) - 100 * scale) > 1) return null; // zoomed or panned by hand
    const side = SKETCH_SIZE * scale;
    return { left: box.left + (box.width - side) / 2, top: box.top + (box.height - side) / 2, side };
  };
  const inside = (rect, x, y, inset) =>
    x >= rect.left + inset && x <= rect.left + rect.side - inset && y >= rect.top + inset && y <= rect.top + rect.side - inset;
  // Where the segment from an outside point to an inside one enters the image (bisection).
  const entry = (rect, from, to) => {
    let [outside, within] = [0, 1];
    for (let step = 0; step < 20; step++) {
      const middle = (outside + within) / 2;
      const x = from.x + (to.x - from.x) * middle;
      const y = from.y + (to.y - from.y) * middle;
      if (inside(rect, x, y, INSET)) within = middle;
      else outside = middle;
    }
    return { x: from.x + (to.x - from.x) * within, y: from.y + (to.y - from.y) * within };
  };
  const send = (canvas, type, point, template) =>
    canvas.dispatchEvent(
      new PointerEvent(type, {
        clientX: point.x,
        clientY: point.y,
        pointerId: template.pointerId,
        pointerType: template.pointerType,
        isPrimary: template.isPrimary,
        button: type === "pointerdown" ? 0 : -1,
        buttons: 1,
        bubbles: true,
        cancelable: true,
        composed: true,
      }),
    );

  window.addEventListener(
    "pointerdown",
    (event) => {
      pending = null;
      const canvas = event.target;
      if (!event.isTrusted || event.button !== 0 || canvas.tagName !== "CANVAS" || !canvas.closest(".sketch-canvas"))
        return;
      const rect = imageRect(canvas);
      if (rect && !inside(rect, event.clientX, event.clientY, 0)) pending = { canvas, x: event.clientX, y: event.clientY };
    },
    true,
  );
  window.addEventListener(
    "pointermove",
    (event) => {
      if (!pending || !event.isTrusted) return;
      const rect = imageRect(pending.canvas);
      if (!rect || !(event.buttons & 1)) {
        pending = null;
        return;
      }
      const here = { x: event.clientX, y: event.clientY };
      if (!inside(rect, here.x, here.y, INSET)) {
        [pending.x, pending.y] = [here.x, here.y];
        return;
      }
      const start = entry(rect, pending, here);
      const canvas = pending.canvas;
      pending = null;
      send(canvas, "pointermove", start, event); // the editor checks the pointer is over the image on moves
      send(canvas, "pointerdown", start, event);
      send(canvas, "pointermove", here, event);
    },
    true,
  );
  window.addEventListener("pointerup", () => (pending = null), true);
}
