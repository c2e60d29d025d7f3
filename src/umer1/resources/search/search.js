// The umer1 search page: plain DOM, no build step, nothing fetched from other hosts.
// Every server text is put in the page with textContent, never parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
let chosenFile = null;          // the query image (from the picker or a drop)
let info = null;                // GET /search/info: indexes, limits
const blobUrls = [];            // thumbnails fetched with the key, released on the next search

function headers(extra) {
  const h = Object.assign({}, extra || {});
  const key = $("api-key").value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

function setState(state, status) {
  document.body.dataset.state = state;
  $("status").textContent = status || "";
  $("search-button").disabled = state === "busy";
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
  setState("error");
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) return body.error.message;
  } catch (e) { /* not JSON */ }
  return "the server answered HTTP " + response.status;
}

async function loadInfo() {
  try {
    const r = await fetch("/search/info", { headers: headers() });
    if (!r.ok) {
      $("indexes").textContent = "";
      if (r.status === 401) $("key-box").open = true;
      showError(await errorMessage(r));
      return;
    }
    info = await r.json();
    $("indexes").textContent = info.indexes.map(
      (ix) => `${ix.mode}: ${ix.name} (${ix.count} rows, ${ix.kind})`).join(" · ");
    $("top-k").max = info.max_top_k;
    for (const mode of ["disc", "gen"]) {
      const col = $("col-" + mode);
      const on = info.indexes.some((ix) => ix.mode === mode);
      col.classList.toggle("off", !on);
      col.querySelector(".empty").textContent = on ? "no results yet" : `no ${mode} index is served`;
    }
    setState("idle");
  } catch (e) {
    showError("cannot reach the server: " + e.message);
  }
}

function chooseFile(file) {
  chosenFile = file || null;
  const box = $("image-chosen");
  if (!chosenFile) {
    box.hidden = true;
    $("query-image").value = "";
    return;
  }
  $("image-name").textContent = `${chosenFile.name} (${chosenFile.size} bytes)`;
  const preview = $("image-preview");
  if (preview.src && preview.src.startsWith("blob:")) URL.revokeObjectURL(preview.src);
  if (chosenFile.type.startsWith("image/")) preview.src = URL.createObjectURL(chosenFile);
  else preview.removeAttribute("src");
  box.hidden = false;
}

function readDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(new Error("cannot read the file " + file.name));
    reader.readAsDataURL(file);
  });
}

async function thumbnail(url) {
  const img = document.createElement("img");
  img.className = "thumb";
  img.alt = "";
  try {
    const r = await fetch(url, { headers: headers() });
    if (r.ok) {
      const blob = URL.createObjectURL(await r.blob());
      blobUrls.push(blob);
      img.src = blob;
    }
  } catch (e) { /* leave the box empty */ }
  return img;
}

// Reasoning as written, less its blank runs (a model can emit many newlines in a row).
function tidy(text) {
  const t = String(text).replace(/\n\s*\n\s*\n[\s]*/g, "\n\n").trim();
  return t || "(empty)";
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

// `boxes`: some hit of the column has a thumbnail, so the others keep an empty box to align.
async function renderHit(hit, boxes) {
  const li = el("li", hit.thumbnail || boxes ? "hit" : "hit text-only");
  li.appendChild(el("span", "rank", "#" + hit.rank));
  if (hit.thumbnail) li.appendChild(await thumbnail(hit.thumbnail));
  else if (boxes) li.appendChild(el("div", "no-thumb"));
  const body = el("div", "body");
  const head = el("div");
  head.appendChild(el("span", "id", String(hit.id)));
  head.appendChild(el("span", "score", hit.score.toFixed(4)));
  body.appendChild(head);
  if (hit.text) body.appendChild(el("p", "snippet", hit.text));
  if (hit.reasoning) {
    const d = el("details", "hit-reasoning");
    d.appendChild(el("summary", null, "reasoning"));
    d.appendChild(el("p", null, tidy(hit.reasoning)));
    body.appendChild(d);
  }
  li.appendChild(body);
  return li;
}

async function render(results) {
  while (blobUrls.length) URL.revokeObjectURL(blobUrls.pop());
  for (const mode of ["disc", "gen"]) {
    const col = $("col-" + mode);
    const list = col.querySelector(".hits");
    list.replaceChildren();
    const r = results[mode];
    const empty = col.querySelector(".empty");
    empty.hidden = Boolean(r && r.hits.length);
    if (!r) empty.textContent = `no ${mode} index is served`;
    else if (!r.hits.length) empty.textContent = "no hits";
    const hits = r ? r.hits : [];
    const boxes = hits.some((h) => h.thumbnail);
    for (const hit of hits) list.appendChild(await renderHit(hit, boxes));
  }
  const gen = results.gen;
  $("gen-reasoning").hidden = !(gen && gen.reasoning !== null && gen.reasoning !== undefined);
  $("gen-reasoning-text").textContent = gen && gen.reasoning ? tidy(gen.reasoning) : "(empty)";
}

async function search(event) {
  event.preventDefault();
  clearError();
  const file = chosenFile || $("query-image").files[0] || null;
  const body = { text: $("query-text").value, top_k: Number($("top-k").value) };
  if (!body.text.trim() && !file) {
    showError("the query is empty: type some text or drop an image");
    return;
  }
  setState("busy", "searching…");
  try {
    if (file) {
      if (info && file.size > info.max_image_bytes) {
        showError(`the image is ${file.size} bytes, over the server's limit of ${info.max_image_bytes}`);
        return;
      }
      body.image = await readDataUrl(file);
    }
    const started = performance.now();
    const r = await fetch("/search/query", {
      method: "POST", headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify(body) });
    if (!r.ok) {
      showError(await errorMessage(r));
      return;
    }
    await render((await r.json()).results);
    setState("done", `${((performance.now() - started) / 1000).toFixed(2)} s`);
  } catch (e) {
    showError("the search failed: " + e.message);
  }
}

function setUp() {
  const zone = $("drop-zone");
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer.files.length) chooseFile(e.dataTransfer.files[0]);
  });
  $("query-image").addEventListener("change", (e) => chooseFile(e.target.files[0]));
  $("image-clear").addEventListener("click", () => chooseFile(null));
  $("query-form").addEventListener("submit", search);
  $("api-key").addEventListener("change", loadInfo);
  loadInfo();
}

document.addEventListener("DOMContentLoaded", setUp);
