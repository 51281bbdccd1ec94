// Progressive enhancement shared by every page; each feature checks its markup exists first.
// Everything works without this script; it adds shortcuts, copy buttons and confirmations.

export const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

// "/" focuses the search box, as on the Hub.
document.addEventListener("keydown", (event) => {
  const target = event.target;
  const typing = target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  if (event.key === "/" && !typing) {
    const search = document.getElementById("site-search-input");
    if (search) { event.preventDefault(); search.focus(); }
  }
});

// <button data-copy="text">: copies its text to the clipboard.
document.addEventListener("click", async (event) => {
  const button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
  if (!button) return;
  try {
    await navigator.clipboard.writeText(button.getAttribute("data-copy") ?? "");
    button.setAttribute("data-copied", "true");
  } catch { /* clipboard refused: the text is still selectable */ }
});

// <form data-confirm="question">: asks before submitting.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});

// Page-specific modules: <body> elements with data-module="name" load /-/static/js/name.js.
// Once a module has run, its elements get data-module-ready (what tests wait for before acting).
for (const name of new Set([...document.querySelectorAll("[data-module]")].map((el) => el.dataset.module))) {
  if (!/^[a-z0-9-]+$/.test(name)) continue;
  import(`/-/static/js/${name}.js`).then(() => {
    for (const el of document.querySelectorAll(`[data-module="${name}"]`)) el.dataset.moduleReady = "";
  });
}
