// The file editor: Tab inserts two spaces instead of leaving the textarea (Escape then Tab leaves),
// and a warning before leaving the page with unsaved changes.
const area = document.getElementById("editor-content");
const form = area?.closest("form");
let dirty = false;
let escaped = false;

if (area && form) {
  area.addEventListener("input", () => { dirty = true; });
  area.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { escaped = true; return; }
    if (event.key === "Tab" && !event.shiftKey && !escaped) {
      event.preventDefault();
      area.setRangeText("  ", area.selectionStart, area.selectionEnd, "end");
      dirty = true;
    }
    escaped = false;
  });
  form.addEventListener("submit", () => { dirty = false; });
  window.addEventListener("beforeunload", (event) => { if (dirty) event.preventDefault(); });
}
