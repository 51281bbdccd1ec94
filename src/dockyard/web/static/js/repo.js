// The repo page's like button, without a page load: the real likes API with the session's CSRF
// header. The form still works without this script (it posts and the page reloads).
import { csrfToken } from "/-/static/js/app.js";

for (const form of document.querySelectorAll("form.like-form[data-api]")) {
  const button = form.querySelector(".like-button");
  if (!button) continue;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const liked = button.getAttribute("aria-pressed") === "true";
    button.disabled = true;
    try {
      const response = await fetch(form.dataset.api, {
        method: liked ? "DELETE" : "POST",
        headers: { "X-CSRF-Token": csrfToken() },
        credentials: "same-origin",
      });
      if (!response.ok) { form.submit(); return; }
      const count = form.querySelector("[data-like-count]");
      count.textContent = String(Number(count.textContent) + (liked ? -1 : 1));
      button.setAttribute("aria-pressed", liked ? "false" : "true");
      form.querySelector(".like-icon").textContent = liked ? "♡" : "♥";
      form.querySelector(".like-word").textContent = liked ? "Like" : "Unlike";
      form.querySelector('input[name="action"]').value = liked ? "like" : "unlike";
    } finally {
      button.disabled = false;
    }
  });
}
