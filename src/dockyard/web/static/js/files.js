// Files and versions: choosing a revision in the picker goes there at once (the form's
// "Switch" button does the same without script).
for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form?.requestSubmit());
}
