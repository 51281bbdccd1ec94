// The upload page: drag and drop, then what huggingface_hub does — preupload, LFS batch upload
// (with progress) and verify for large files, then one NDJSON commit. Without this script the form
// still posts small files to the page itself.
import { csrfToken } from "/-/static/js/app.js";

// crypto.subtle exists only in secure contexts (HTTPS, or loopback): plain-HTTP hubs on another
// address hash with our own implementation, loaded only then.
async function digest(bytes) {
  if (globalThis.crypto?.subtle) return crypto.subtle.digest("SHA-256", bytes);
  const { sha256 } = await import("/-/static/js/sha256.js");
  return sha256(bytes);
}

const form = document.querySelector("form[data-module='upload']");
const input = document.getElementById("upload-files");
const zone = document.getElementById("upload-dropzone");
const list = document.getElementById("upload-list");
const bar = document.getElementById("upload-progress");
const status = document.getElementById("upload-status");
let chosen = [];

const say = (text) => { status.textContent = text; };
const setProgress = (done, total) => {
  const percent = total > 0 ? Math.round((done / total) * 100) : 100;
  bar.value = percent;
  bar.textContent = `${percent}%`;
};

function showFiles(files) {
  chosen = [...files];
  list.replaceChildren(...chosen.map((file) => {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = file.webkitRelativePath || file.name;
    const size = document.createElement("span");
    size.className = "muted small";
    size.textContent = `${file.size.toLocaleString()} bytes`;
    item.append(name, size);
    return item;
  }));
}

input.addEventListener("change", () => showFiles(input.files));
zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("is-over"); });
zone.addEventListener("dragleave", () => zone.classList.remove("is-over"));
zone.addEventListener("drop", (event) => {
  event.preventDefault();
  zone.classList.remove("is-over");
  if (event.dataTransfer?.files?.length) showFiles(event.dataTransfer.files);
});

const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
function base64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

async function api(url, body, type = "application/json", extra = {}) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": type, "X-CSRF-Token": csrfToken(), ...extra },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || data.message || `${response.status} ${response.statusText}`);
  return data;
}

// PUT the bytes to the href the batch answer gave, reporting progress as they go.
function put(action, bytes, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("PUT", action.href);
    for (const [name, value] of Object.entries(action.header || {})) request.setRequestHeader(name, value);
    request.upload.onprogress = (event) => onProgress(event.loaded);
    request.onload = () => (request.status < 300 ? resolve() : reject(new Error(`upload failed: ${request.status}`)));
    request.onerror = () => reject(new Error("upload failed: network error"));
    request.send(bytes);
  });
}

async function uploadLfs(files, lfsPrefix, repoId) {
  const lfsJson = "application/vnd.git-lfs+json";
  const batch = await api(`${lfsPrefix}/${repoId}.git/info/lfs/objects/batch`, {
    operation: "upload", transfers: ["basic"], hash_algo: "sha256",
    objects: files.map((f) => ({ oid: f.oid, size: f.bytes.length })),
  }, lfsJson, { Accept: lfsJson });
  const total = files.reduce((sum, f) => sum + f.bytes.length, 0);
  let finished = 0;
  for (const object of batch.objects) {
    if (object.error) throw new Error(object.error.message);
    const file = files.find((f) => f.oid === object.oid);
    const upload = object.actions?.upload;
    if (upload) {
      say(`Uploading ${file.path}…`);
      await put(upload, file.bytes, (loaded) => setProgress(finished + loaded, total));
      const verify = object.actions.verify;
      if (verify) await api(verify.href, { oid: object.oid, size: object.size }, lfsJson, verify.header || {});
    }
    finished += file.bytes.length;
    setProgress(finished, total);
  }
}

async function submit(event) {
  event.preventDefault();
  if (!chosen.length) { say("Choose or drop at least one file."); return; }
  const d = form.dataset;
  const createPr = form.querySelector("input[name=create_pr]:checked, input[type=hidden][name=create_pr]") !== null;
  const query = createPr ? "?create_pr=1" : "";
  const rev = encodeURIComponent(d.revision);
  const button = document.getElementById("upload-submit");
  button.disabled = true;
  try {
    say("Hashing files…");
    const files = await Promise.all(chosen.map(async (file) => {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const oid = hex(await digest(bytes));
      const name = file.webkitRelativePath || file.name;
      return { path: d.folder ? `${d.folder}/${name}` : name, bytes, oid };
    }));
    const pre = await api(`/api/${d.apiType}/${d.repoId}/preupload/${rev}${query}`, {
      files: files.map((f) => ({ path: f.path, size: f.bytes.length, sample: base64(f.bytes.subarray(0, 512)) })),
    });
    const modes = new Map(pre.files.map((f) => [f.path, f.uploadMode]));
    const large = files.filter((f) => modes.get(f.path) === "lfs");
    if (large.length) await uploadLfs(large, d.lfsPrefix, d.repoId);
    setProgress(1, 1);
    say("Committing…");
    const summary = form.querySelector("[name=summary]").value.trim() || `Upload ${files.length} file${files.length > 1 ? "s" : ""}`;
    const lines = [{ key: "header", value: { summary, description: form.querySelector("[name=description]").value } }];
    for (const f of files) {
      lines.push(modes.get(f.path) === "lfs"
        ? { key: "lfsFile", value: { path: f.path, algo: "sha256", oid: f.oid, size: f.bytes.length } }
        : { key: "file", value: { path: f.path, encoding: "base64", content: base64(f.bytes) } });
    }
    const body = lines.map((line) => JSON.stringify(line)).join("\n");
    const done = await api(`/api/${d.apiType}/${d.repoId}/commit/${rev}${query}`, body, "application/x-ndjson");
    say("Committed.");
    const tree = `${d.repoUrl}/tree/${rev}${d.folder ? `/${d.folder}` : ""}`;
    window.location.assign(done.pullRequestUrl ? new URL(done.pullRequestUrl).pathname : tree);
  } catch (error) {
    say(`Upload failed: ${error.message}`);
    button.disabled = false;
  }
}

form.addEventListener("submit", submit);
