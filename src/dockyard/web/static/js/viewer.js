// The dataset viewer table without page loads: the switcher, the pages, search and filter fetch the
// same page with the new query and swap in its server-rendered #viewer section. Without this
// script every link and form still works (a full page load).
const SECTION = "#viewer";

async function swap(url, push) {
  const current = document.querySelector(SECTION);
  if (!current) return;
  current.setAttribute("aria-busy", "true");
  try {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!response.ok) { window.location.assign(url); return; }
    const html = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = html.querySelector(SECTION);
    if (!fresh) { window.location.assign(url); return; }
    current.replaceWith(document.importNode(fresh, true));
    if (push) history.pushState({ viewer: true }, "", url);
    bind();
  } finally {
    current.removeAttribute("aria-busy");
  }
}

function bind() {
  const section = document.querySelector(SECTION);
  if (!section) return;
  for (const link of section.querySelectorAll(".viewer-switcher a, .viewer-pages a")) {
    link.addEventListener("click", (event) => {
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      swap(link.href, true);
    });
  }
  for (const form of section.querySelectorAll("form.viewer-search, form.viewer-filter")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const url = new URL(form.action, window.location.href);
      url.search = new URLSearchParams(new FormData(form)).toString();
      swap(url.toString(), true);
    });
  }
}

window.addEventListener("popstate", () => swap(window.location.href, false));
bind();
