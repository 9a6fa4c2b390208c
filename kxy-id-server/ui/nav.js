// Moving between pages without reloading. Pages call navigate() and rerender(); app.js
// registers the function that draws the page of the current path, so no page module
// imports app.js.
//
// Also the flash: one message kept for the next login page (session ended, logged out,
// administrator created), shown once.

let draw = () => {};

/** Sets the function that draws the current path; `focus` moves focus to the page. */
export function setRenderer(render) {
  draw = render;
}

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  draw({ focus: !replace });
}

/** Draws the current path again (a retry, or after a change). */
export function rerender() {
  return draw();
}

let flash = null;

export function setFlash(kind, text) {
  flash = { kind, text };
}

export function hasFlash() {
  return flash !== null;
}

/** The flash, if any; it is then gone. */
export function takeFlash() {
  const taken = flash;
  flash = null;
  return taken;
}
