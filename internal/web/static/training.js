// Style training: uploads each chosen file, starts the training and follows it; on the
// studio page, lists the trained styles and inserts a trigger word into the prompt.
"use strict";

function trainingToken() {
  const m = document.querySelector('meta[name="csrf-token"]');
  return m ? m.content : "";
}

async function answer(res) {
  try { return await res.json(); } catch (e) { return { error: "Unexpected answer from the server." }; }
}

// uploadOne sends one file to the upload pipeline and returns the parsed answer.
async function uploadOne(file) {
  const body = new FormData();
  body.append("file", file, file.name);
  const res = await fetch("/api/training/upload", {
    method: "POST", credentials: "same-origin",
    headers: { "X-CSRFToken": trainingToken() }, body,
  });
  return { ok: res.ok, data: await answer(res) };
}

function trainingShow(text, pct) {
  document.getElementById("training-progress").hidden = false;
  document.getElementById("training-progress-text").textContent = text;
  document.getElementById("training-progress-bar").value = pct;
}

function trainingFail(text) {
  const err = document.getElementById("training-error");
  err.textContent = text;
  err.hidden = false;
  document.getElementById("training-button").disabled = false;
}

function addThumb(up) {
  const box = document.getElementById("training-uploads");
  const fig = document.createElement("figure");
  fig.className = "tile";
  const img = document.createElement("img");
  img.src = up.thumbnail_url;
  img.alt = up.name;
  img.width = 128;
  fig.appendChild(img);
  box.appendChild(fig);
}

async function followTraining(url) {
  const res = await fetch(url, { credentials: "same-origin" });
  const t = await answer(res);
  if (!res.ok) { trainingFail(t.error || "The training could not be followed."); return; }
  trainingShow(t.message || t.status, t.progress);
  if (["succeeded", "failed", "canceled"].includes(t.status)) { window.location.reload(); return; }
  setTimeout(() => followTraining(url), 2000);
}

function setupTraining() {
  const form = document.getElementById("training-form");
  if (!form) return;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    document.getElementById("training-error").hidden = true;
    document.getElementById("training-button").disabled = true;
    document.getElementById("training-uploads").replaceChildren();
    const files = Array.from(document.getElementById("training-files").files);
    const ids = [];
    let zip = "";
    for (let i = 0; i < files.length; i++) {
      trainingShow("Uploading " + (i + 1) + " of " + files.length, Math.round(100 * i / files.length));
      const { ok, data } = await uploadOne(files[i]);
      if (!ok) { trainingFail(data.error || "The upload failed."); return; }
      data.uploads.forEach(addThumb);
      if (data.zip_id) zip = data.zip_id; else ids.push(...data.upload_ids);
    }
    const f = new FormData(form);
    const body = {
      trigger_word: f.get("trigger_word"), steps: Number(f.get("steps")),
      create_masks: f.get("create_masks") === "on", is_style: f.get("kind") === "style",
    };
    if (zip && ids.length === 0) body.zip_id = zip; else body.upload_ids = ids;
    trainingShow("Starting the training", 0);
    const res = await fetch("/api/training/start", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": trainingToken() },
      body: JSON.stringify(body),
    });
    const data = await answer(res);
    if (!res.ok) { trainingFail(data.error || "The training could not start."); return; }
    followTraining(data.status_url);
  });
}

// setupStyles fills the studio's style list and inserts the chosen trigger word.
async function setupStyles() {
  const select = document.getElementById("trained-style");
  const prompt = document.getElementById("prompt");
  if (!select || !prompt) return;
  const res = await fetch("/api/training/styles", { credentials: "same-origin" });
  if (!res.ok) return;
  const data = await answer(res);
  if (!data.styles || data.styles.length === 0) return;
  for (const s of data.styles) {
    const o = document.createElement("option");
    o.value = s.trigger_word;
    o.textContent = s.trigger_word + (s.backend === "builtin" ? " (offline engine)" : " (" + s.backend + ")");
    select.appendChild(o);
  }
  document.getElementById("trained-style-label").hidden = false;
  select.addEventListener("change", () => {
    const word = select.value;
    if (!word) return;
    const re = new RegExp("(^|[^A-Za-z0-9_-])" + word + "($|[^A-Za-z0-9_-])", "i");
    if (!re.test(prompt.value)) prompt.value = (prompt.value.trim() + " " + word).trim();
    select.value = "";
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setupTraining();
  setupStyles();
});
