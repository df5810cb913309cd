/// The one page `hone serve` shows: upload, the queue with live progress, each
/// result (video, before/after stills, numbers) and the live camera mode.
/// Plain HTML, CSS and JavaScript, nothing fetched from elsewhere; every value
/// from the server goes in through `textContent` or an attribute, never as markup.
enum Page {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hone</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 980px; padding: 1em; color: #222; }
  h1 { margin: 0 0 .2em; } h2 { margin-top: 1.6em; }
  .muted { color: #666; }
  #drop { border: 2px dashed #999; border-radius: 8px; padding: 1.2em; text-align: center; }
  #drop.over { background: #eef5ff; border-color: #3a7bd5; }
  fieldset { border: 0; padding: 0; margin: .8em 0; display: flex; flex-wrap: wrap; gap: 1em; align-items: end; }
  label { display: flex; flex-direction: column; font-size: 13px; color: #444; }
  button { font: inherit; padding: .35em 1em; }
  .error { color: #b00020; }
  .job { border: 1px solid #ccc; border-radius: 8px; padding: .8em 1em; margin: .8em 0; }
  .job header { display: flex; justify-content: space-between; gap: 1em; align-items: baseline; }
  .state { font-weight: 600; text-transform: uppercase; font-size: 12px; letter-spacing: .05em; }
  .state.done { color: #1b7f3b; } .state.failed { color: #b00020; } .state.running { color: #3a7bd5; }
  progress { width: 100%; height: 1em; }
  .reports { font: 12px/1.4 ui-monospace, monospace; white-space: pre-wrap; color: #444; max-height: 9em; overflow: auto; }
  table { border-collapse: collapse; margin: .5em 0; } td, th { border-bottom: 1px solid #ddd; padding: .2em .8em; text-align: right; }
  th:first-child, td:first-child { text-align: left; }
  .compare { position: relative; overflow: auto; max-height: 70vh; border: 1px solid #ccc; }
  .compare .frame { position: relative; display: inline-block; line-height: 0; }
  .compare img { display: block; image-rendering: pixelated; }
  .compare img.top { position: absolute; left: 0; top: 0; }
  .compare .split { position: absolute; top: 0; bottom: 0; width: 0; border-left: 2px solid #fff; box-shadow: 0 0 0 1px #0006; }
  .tags { display: flex; justify-content: space-between; font-size: 12px; color: #666; }
  video { max-width: 100%; }
  input.slider { width: 100%; }
  #live canvas { border: 1px solid #ccc; width: 320px; image-rendering: pixelated; }
  #live figure { display: inline-block; margin: 0 .5em 0 0; } #live figcaption { font-size: 12px; color: #666; }
</style>
</head>
<body>
<h1>Hone</h1>
<p class="muted">Upload a video: Hone fine-tunes its network on the video's own frames, then writes a sharper copy twice (or four times) as large, with its sound. At ×1 it removes compression artifacts and noise at the same size.</p>

<section id="new">
  <div id="drop">Drop a video here, or <input type="file" id="file" accept="video/*,.mkv,.mov,.mp4,.webm,.avi"></div>
  <fieldset>
    <label>Scale <select id="scale"></select></label>
    <label>Epochs <input type="number" id="epochs" min="1" max="20" value="3" style="width:5em"></label>
    <label>Look <select id="preset">
      <option value="natural">natural (default: no halos, a little finer texture)</option>
      <option value="sharper">sharper (more texture, slight halos)</option>
      <option value="pixel-exact">pixel-exact (closest to the pixels, softest)</option>
    </select></label>
    <label>Starting model <select id="model"></select></label>
    <label><input type="checkbox" id="light"> Fix light and colour</label>
    <button id="submit" disabled>Enhance</button>
  </fieldset>
  <progress id="upload-progress" value="0" max="1" hidden></progress>
  <p id="upload-message"></p>
</section>

<h2>Jobs</h2>
<div id="jobs"><p class="muted">No jobs yet.</p></div>

<h2>Live</h2>
<section id="live">
  <p class="muted">Your camera, upscaled ×2 as it comes: bicubic on the left, Hone on the right.</p>
  <select id="live-model"><option value="base:160:90">the ×2 base: 160×90 → 320×180</option><option value="fast:160:90">fast tier: 160×90 → 320×180</option><option value="fast:320:180">fast tier: 320×180 → 640×360</option><option value="fast:640:360">fast tier: 640×360 → 1280×720, as calls are</option></select>
  <button id="live-start">Start camera</button> <button id="live-stop" disabled>Stop</button>
  <span id="live-fps"></span>
  <div><figure><canvas id="live-bicubic"></canvas><figcaption>bicubic</figcaption></figure><figure><canvas id="live-hone"></canvas><figcaption>Hone</figcaption></figure></div>
</section>

<script>
"use strict";
const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) node.append(child);
  return node;
};
let chosen = null;
const cards = new Map();
const streams = new Map();

function fmtTime(s) {
  if (s == null || !isFinite(s)) return "";
  s = Math.round(s);
  return s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.floor(s % 3600 / 60)} min` : s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}
const dB = (v) => v == null ? "–" : `${v.toFixed(2)} dB`;

async function loadServer() {
  const r = await fetch("/api/jobs");
  if (!r.ok) { $("jobs").textContent = (await r.json()).error; return; }
  const list = await r.json();
  $("scale").replaceChildren(...list.scales.map((s) => el("option", { value: s, textContent: s === 1 ? "×1 (restore)" : `×${s}`, selected: s === 2 })));
  $("model").replaceChildren(...list.models.map((m) => el("option", { value: m, textContent: m === "base" ? "Hone's base" : m })));
  window.maxUpload = list.maxUpload;
  if (list.jobs.length) $("jobs").replaceChildren();
  for (const job of list.jobs.reverse()) show(job);
}

function choose(file) {
  chosen = file;
  $("submit").disabled = !file;
  $("upload-message").className = "";
  $("upload-message").textContent = file ? `${file.name} (${(file.size / 1e6).toFixed(1)} MB)` : "";
}
$("file").addEventListener("change", () => choose($("file").files[0] || null));
for (const ev of ["dragenter", "dragover"]) $("drop").addEventListener(ev, (e) => { e.preventDefault(); $("drop").classList.add("over"); });
for (const ev of ["dragleave", "drop"]) $("drop").addEventListener(ev, (e) => { e.preventDefault(); $("drop").classList.remove("over"); });
$("drop").addEventListener("drop", (e) => choose(e.dataTransfer.files[0] || null));

$("submit").addEventListener("click", () => {
  if (!chosen) return;
  const q = new URLSearchParams({ scale: $("scale").value, epochs: $("epochs").value, preset: $("preset").value,
                                  model: $("model").value, light: $("light").checked ? "auto" : "off", name: chosen.name });
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/api/jobs?" + q);
  const bar = $("upload-progress");
  bar.hidden = false; bar.value = 0; $("submit").disabled = true;
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = e.loaded / e.total; };
  xhr.onload = () => {
    bar.hidden = true;
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch (_) {}
    if (xhr.status === 201) {
      if (!cards.size) $("jobs").replaceChildren();
      show(body); choose(null); $("file").value = "";
    } else {
      $("upload-message").className = "error";
      $("upload-message").textContent = body.error || `upload failed (${xhr.status})`;
      $("submit").disabled = false;
    }
  };
  xhr.onerror = () => { bar.hidden = true; $("upload-message").className = "error"; $("upload-message").textContent = "upload failed: the server did not answer"; $("submit").disabled = false; };
  xhr.send(chosen);
});

function show(job) {
  let card = cards.get(job.id);
  if (!card) {
    card = el("div", { className: "job" });
    card.dataset.id = job.id;
    cards.set(job.id, card);
    $("jobs").prepend(card);
  }
  render(card, job);
  if (!["done", "failed", "cancelled"].includes(job.state) && !streams.has(job.id)) {
    const source = new EventSource(`/api/jobs/${job.id}/events`);
    source.onmessage = (e) => render(card, JSON.parse(e.data));
    source.onerror = () => { source.close(); streams.delete(job.id); setTimeout(() => refresh(job.id), 2000); };
    streams.set(job.id, source);
  }
}

async function refresh(id) {
  const r = await fetch(`/api/jobs/${id}`);
  if (r.ok) show(await r.json());
}

function render(card, job) {
  if (card.dataset.rendered === JSON.stringify(job)) return;
  card.dataset.rendered = JSON.stringify(job);
  const o = job.options;
  const state = el("span", { className: `state ${job.state}`, textContent: job.state });
  const title = el("div", {}, el("strong", { textContent: job.name }), ` ×${o.scale}, ${o.epochs} epoch${o.epochs > 1 ? "s" : ""}, ${o.preset}${o.light != null ? ", light and colour fixed" : ""}`);
  const actions = el("div");
  if (job.state === "queued" || job.state === "running") {
    actions.append(el("button", { className: "cancel", textContent: "Cancel", onclick: () => fetch(`/api/jobs/${job.id}/cancel`, { method: "POST" }).then(() => refresh(job.id)) }));
  } else {
    actions.append(el("button", { className: "delete", textContent: "Delete", onclick: async () => {
      await fetch(`/api/jobs/${job.id}`, { method: "DELETE" }); card.remove(); cards.delete(job.id);
    } }));
  }
  const parts = [el("header", {}, title, el("div", {}, state, " ", actions))];
  if (job.state === "queued") parts.push(el("p", { className: "muted", textContent: job.position ? `Waiting: place ${job.position} in the queue.` : "Waiting." }));
  const p = job.progress;
  if (job.state === "running" && p) {
    const bar = el("progress", { max: 1, value: p.total ? p.done / p.total : 0 });
    const eta = p.eta != null ? `, about ${fmtTime(p.eta)} left in this stage` : "";
    const text = p.total ? `${p.stage}: ${p.done} of ${p.total} ${p.unit}${eta}${p.detail ? " · " + p.detail : ""}` : `${p.stage}…`;
    parts.push(el("div", { className: "stage", textContent: text }), bar);
  }
  if (job.message && job.state !== "done") parts.push(el("p", { className: job.state === "failed" ? "error" : "muted", textContent: job.message }));
  if (job.reports.length) parts.push(el("div", { className: "reports", textContent: job.reports.join("\n") }));
  if (job.state === "done" && job.result) parts.push(result(job));
  card.replaceChildren(...parts);
}

function result(job) {
  const r = job.result, files = `/api/jobs/${job.id}/files/`;
  // At ×1 the classical side is the input itself, and validation damages the frames instead of downscaling them.
  const kernel = job.options.scale === 1 ? "input" : "bicubic";
  const box = el("div", { className: "result" });
  box.append(el("h3", { textContent: "Result" }),
    el("video", { src: files + "enhanced.mp4", controls: true, preload: "metadata" }),
    el("p", {}, el("a", { className: "download", href: files + "enhanced.mp4", download: "", textContent: "Download the enhanced video" }),
      " · ", el("a", { href: files + "compare.mp4", textContent: `comparison video (${kernel} left, Hone right)` }),
      " · ", el("a", { href: files + "model.ckpt", download: "", textContent: "the fine-tuned checkpoint" })));
  const table = el("table", {},
    el("tr", {}, el("th", { textContent: `Validation Y-PSNR (held-out real frames, ${kernel === "input" ? "damaged" : "one scale down"})` }), el("th", { textContent: "" })),
    el("tr", {}, el("td", { textContent: kernel }), el("td", { textContent: dB(r.bicubicPSNR) })),
    el("tr", {}, el("td", { textContent: "Hone's base, before fine-tuning" }), el("td", { textContent: dB(r.basePSNR) })),
    el("tr", {}, el("td", { textContent: "fine-tuned" }), el("td", { textContent: dB(r.finetunedPSNR) })),
    el("tr", {}, el("td", { textContent: `overshoot beyond ${kernel === "input" ? "the input" : "bicubic"} (mean / 99th percentile, 8-bit levels)` }),
      el("td", { textContent: r.overshootMean == null ? "–" : `${r.overshootMean.toFixed(3)} / ${r.overshootP99.toFixed(2)}` })),
    el("tr", {}, el("td", { textContent: `blockiness, Hone / ${kernel} (excess step at the input's 8×8 block edges; 0 none)` }),
      el("td", { textContent: r.blockiness == null ? "–" : `${r.blockiness.toFixed(3)} / ${r.bicubicBlockiness.toFixed(3)}` })));
  if (r.damageFound) box.append(el("p", { textContent: "What Hone found in this video: " + r.damageFound }));
  box.append(table);
  for (const w of r.warnings) box.append(el("p", { className: "muted", textContent: "note: " + w }));
  for (let n = 1; n <= r.stills; n++) box.append(slider(files + `still-${n}-bicubic.png`, files + `still-${n}-hone.png`, kernel));
  return box;
}

// Bicubic (at ×1, the input) under Hone at the same size; the slider uncovers Hone from the left.
function slider(bicubic, hone, kernel) {
  const under = el("img", { src: bicubic, alt: kernel });
  const over = el("img", { src: hone, alt: "Hone", className: "top" });
  const split = el("div", { className: "split" });
  const range = el("input", { type: "range", min: 0, max: 100, value: 50, className: "slider" });
  const zoom = el("select", {}, ...[1, 2, 4].map((z) => el("option", { value: z, textContent: `zoom ×${z}` })));
  const place = () => { over.style.clipPath = `inset(0 ${100 - range.value}% 0 0)`; split.style.left = `${range.value}%`; };
  const scaleTo = () => { for (const img of [under, over]) img.style.width = img.naturalWidth ? `${img.naturalWidth * zoom.value}px` : ""; };
  range.addEventListener("input", place); zoom.addEventListener("change", scaleTo); under.addEventListener("load", scaleTo); over.addEventListener("load", scaleTo);
  place();
  return el("div", { className: "still" },
    el("div", { className: "tags" }, el("span", { textContent: "◀ Hone" }), zoom, el("span", { textContent: `${kernel} ▶` })),
    el("div", { className: "compare" }, el("div", { className: "frame" }, under, over, split)), range);
}

// Live: one frame in flight at a time, so a slow server drops camera frames instead of queueing them.
const live = { socket: null, stream: null, frames: [] };
$("live-start").addEventListener("click", async () => {
  try {
    live.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 } });
  } catch (e) { $("live-fps").textContent = "no camera: " + e.message; return; }
  const video = el("video", { muted: true, playsInline: true });
  video.srcObject = live.stream; await video.play();
  const [model, w, h] = $("live-model").value.split(":").map((v, i) => i ? Number(v) : v);
  const small = el("canvas", { width: w, height: h });
  const ctx = small.getContext("2d", { willReadFrequently: true });
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/live?model=${model}`);
  socket.binaryType = "arraybuffer";
  live.socket = socket;
  const send = () => {
    if (socket.readyState !== WebSocket.OPEN) return;
    ctx.drawImage(video, 0, 0, w, h);
    const pixels = ctx.getImageData(0, 0, w, h).data;
    const message = new Uint8Array(4 + pixels.length);
    new DataView(message.buffer).setUint16(0, w, true); new DataView(message.buffer).setUint16(2, h, true);
    message.set(pixels, 4);
    socket.send(message);
  };
  socket.onopen = send;
  socket.onmessage = (e) => {
    if (typeof e.data === "string") { $("live-fps").textContent = e.data; return; }
    const view = new DataView(e.data), w = view.getUint16(0, true), h = view.getUint16(2, true), n = w * h * 4;
    for (const [id, offset] of [["live-hone", 4], ["live-bicubic", 4 + n]]) {
      const canvas = $(id); canvas.width = w; canvas.height = h;
      canvas.getContext("2d").putImageData(new ImageData(new Uint8ClampedArray(e.data, offset, n), w, h), 0, 0);
    }
    const now = performance.now();
    live.frames = live.frames.filter((t) => now - t < 2000).concat([now]);
    window.liveFrames = (window.liveFrames || 0) + 1;
    window.liveFPS = live.frames.length / 2;
    $("live-fps").textContent = `${window.liveFPS.toFixed(1)} fps upscaled`;
    send();
  };
  socket.onclose = () => { $("live-start").disabled = false; $("live-stop").disabled = true; };
  $("live-start").disabled = true; $("live-stop").disabled = false;
});
$("live-stop").addEventListener("click", () => {
  live.socket && live.socket.close();
  live.stream && live.stream.getTracks().forEach((t) => t.stop());
});

loadServer();
</script>
</body>
</html>
"""#
}
