// The Sketch tab's colour buttons, named: Gradio's ImageEditor shows the brush colours as bare swatches, and users had
// to match them against the legend by eye. This writes each class's name on its swatch (and in its title), read from
// the legend below the canvas, whenever the colour menu opens or the task changes. Runs once per page.
if (!window.pix2pixSwatchLabels) {
  window.pix2pixSwatchLabels = true;
  const legendNames = () => {
    const names = new Map();
    for (const swatch of document.querySelectorAll("#sketch-legend .swatch")) {
      names.set(getComputedStyle(swatch.querySelector("i")).backgroundColor, swatch.textContent.trim());
    }
    return names;
  };
  const nameSwatches = () => {
    const buttons = document.querySelectorAll("#sketch-input menu button.color");
    if (!buttons.length) return;
    const names = legendNames();
    for (const button of buttons) {
      const name = names.get(button.style.backgroundColor) ?? "";
      if (button.dataset.name === name) continue;
      const [r, g, b] = (button.style.backgroundColor.match(/\d+/g) ?? [0, 0, 0]).map(Number);
      Object.assign(button, { title: name, textContent: name });
      button.dataset.name = name;
      button.setAttribute("aria-label", name || "colour");
      button.style.color = 0.299 * r + 0.587 * g + 0.114 * b > 140 ? "#000" : "#fff"; // readable on its colour
    }
  };
  new MutationObserver(nameSwatches).observe(document.body, { childList: true, subtree: true });
}
