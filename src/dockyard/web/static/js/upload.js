// The upload page: drag and drop, then what huggingface_hub does — preupload, LFS batch upload
// (one PUT, or the multipart transfer for files at or above the hub's threshold, with progress)
// and verify for large files, then one NDJSON commit. Files stay on disk: hashing and uploads
// read File.slice pieces, so a large file is never copied whole into memory (except to hash it
// with crypto.subtle, below WHOLE_FILE_HASH_LIMIT). Without this script the form still posts
// small files to the page itself.
import { csrfToken } from "/-/static/js/app.js";

// Files up to this size hash with crypto.subtle, which needs the whole file in one buffer; larger
// ones (and every file where crypto.subtle is missing: it exists only in secure contexts, HTTPS or
// loopback) hash with our incremental SHA-256 over File.slice chunks, loaded only then.
const WHOLE_FILE_HASH_LIMIT = 256 * 1024 * 1024;

async function fileDigest(file, onProgress) {
  if (globalThis.crypto?.subtle && file.size <= WHOLE_FILE_HASH_LIMIT) {
    return crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  }
  const { sha256Blob } = await import("/-/static/js/sha256.js");
  return sha256Blob(file, 8 * 1024 * 1024, onProgress);
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

const LFS_JSON = "application/vnd.git-lfs+json";

// PUT a Blob (a File or a File.slice: the browser streams it from disk, no copy in memory) to
// ``href``, reporting bytes sent as they go; resolves to the response's ETag header.
function put(href, headers, blob, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("PUT", href);
    for (const [name, value] of Object.entries(headers)) request.setRequestHeader(name, value);
    request.upload.onprogress = (event) => onProgress(event.loaded);
    request.onload = () => (request.status < 300
      ? resolve(request.getResponseHeader("ETag"))
      : reject(Object.assign(new Error(`upload failed: ${request.status}`), { status: request.status })));
    request.onerror = () => reject(new Error("upload failed: network error"));
    request.send(blob);
  });
}

// Object storage may answer a part with a transient 5xx, or the network may drop: retry a few
// times, as huggingface_hub's http_backoff does. A 4xx is final.
async function putWithRetry(href, blob, onProgress, tries = 3) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await put(href, {}, blob, onProgress);
    } catch (error) {
      if (attempt >= tries || (error.status && error.status < 500)) throw error;
      onProgress(0);
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

// The multipart transfer, as huggingface_hub's _upload_multi_part does it: the upload action's
// header holds ``chunk_size`` and one URL per part, keyed by the part number ("00001"...); PUT
// each slice, collect the ETags, then POST them to the action's href to complete the upload.
async function putParts(upload, file, onProgress) {
  const chunk = Number.parseInt(upload.header.chunk_size, 10);
  const urls = Object.entries(upload.header)
    .filter(([key]) => /^[0-9]+$/.test(key))
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, url]) => url);
  if (!(chunk > 0) || urls.length !== Math.max(1, Math.ceil(file.size / chunk))) {
    throw new Error("invalid multipart answer from the server");
  }
  const parts = [];
  for (const [index, url] of urls.entries()) {
    const start = index * chunk;
    const etag = await putWithRetry(url, file.blob.slice(start, start + chunk), (loaded) => onProgress(start + loaded));
    if (!etag) throw new Error(`part ${index + 1} came back without an ETag (object storage must expose it)`);
    parts.push({ partNumber: index + 1, etag });
  }
  await api(upload.href, { oid: file.oid, parts }, LFS_JSON, { Accept: LFS_JSON });
}

// One LFS batch request for all large files (both transfers offered: the hub answers multipart
// actions for files at or above its threshold), then each upload with overall progress, then
// verify. Objects the hub already holds for this repo come back without actions.
async function uploadLfs(files, lfsPrefix, repoId) {
  const batch = await api(`${lfsPrefix}/${repoId}.git/info/lfs/objects/batch`, {
    operation: "upload", transfers: ["basic", "multipart"], hash_algo: "sha256",
    objects: files.map((f) => ({ oid: f.oid, size: f.size })),
  }, LFS_JSON, { Accept: LFS_JSON });
  const total = files.reduce((sum, f) => sum + f.size, 0);
  let finished = 0;
  for (const object of batch.objects) {
    if (object.error) throw new Error(object.error.message);
    const file = files.find((f) => f.oid === object.oid);
    const upload = object.actions?.upload;
    if (upload) {
      say(`Uploading ${file.path}…`);
      const onProgress = (loaded) => setProgress(finished + loaded, total);
      if (upload.header?.chunk_size !== undefined) await putParts(upload, file, onProgress);
      else await put(upload.href, upload.header || {}, file.blob, onProgress);
      const verify = object.actions.verify;
      if (verify) await api(verify.href, { oid: object.oid, size: object.size }, LFS_JSON, verify.header || {});
    }
    finished += file.size;
    setProgress(finished, total);
  }
}

// Hash the files the hub wants in LFS one after another (one whole buffer at most at a time, and
// none for files above WHOLE_FILE_HASH_LIMIT), with progress over their total size.
async function hashAll(files) {
  const total = files.reduce((sum, f) => sum + f.size, 0);
  let done = 0;
  for (const file of files) {
    say(`Hashing ${file.path}…`);
    file.oid = hex(await fileDigest(file.blob, (loaded) => setProgress(done + loaded, total)));
    done += file.size;
    setProgress(done, total);
  }
}

async function commitLine(file, lfs) {
  if (lfs) return { key: "lfsFile", value: { path: file.path, algo: "sha256", oid: file.oid, size: file.size } };
  const content = base64(new Uint8Array(await file.blob.arrayBuffer()));
  return { key: "file", value: { path: file.path, encoding: "base64", content } };
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
    say("Preparing…");
    const files = await Promise.all(chosen.map(async (blob) => {
      const name = blob.webkitRelativePath || blob.name;
      const sample = base64(new Uint8Array(await blob.slice(0, 512).arrayBuffer()));
      return { path: d.folder ? `${d.folder}/${name}` : name, blob, size: blob.size, sample };
    }));
    const pre = await api(`/api/${d.apiType}/${d.repoId}/preupload/${rev}${query}`, {
      files: files.map((f) => ({ path: f.path, size: f.size, sample: f.sample })),
    });
    const modes = new Map(pre.files.map((f) => [f.path, f.uploadMode]));
    const large = files.filter((f) => modes.get(f.path) === "lfs");
    if (large.length) {
      await hashAll(large);
      setProgress(0, 1);
      await uploadLfs(large, d.lfsPrefix, d.repoId);
    }
    setProgress(1, 1);
    say("Committing…");
    const summary = form.querySelector("[name=summary]").value.trim() || `Upload ${files.length} file${files.length > 1 ? "s" : ""}`;
    const lines = [{ key: "header", value: { summary, description: form.querySelector("[name=description]").value } }];
    for (const f of files) lines.push(await commitLine(f, modes.get(f.path) === "lfs"));
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
