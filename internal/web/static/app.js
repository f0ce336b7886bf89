// SketchMaker's page script: no inline code anywhere, so the CSP can forbid it.
"use strict";

function csrfToken() {
  const m = document.querySelector('meta[name="csrf-token"]');
  return m ? m.content : "";
}

// postJSON sends a JSON request with the CSRF header and returns the parsed answer.
async function postJSON(url, body) {
  const res = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
  });
  let data = {};
  try { data = await res.json(); } catch (e) { data = { error: "Unexpected answer from the server." }; }
  return { status: res.status, data };
}

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

function showResults(job) {
  const box = document.getElementById("results");
  box.replaceChildren();
  for (const im of job.images) {
    const fig = el("figure", { class: "result" });
    const a = el("a", { href: im.page_url });
    a.appendChild(el("img", { src: im.url, alt: "Generated image", width: im.width, height: im.height }));
    fig.appendChild(a);
    fig.appendChild(el("p", { class: "engine" }, im.engine_label + " · seed " + im.seed));
    box.appendChild(fig);
  }
}

function showProgress(job) {
  const wrap = document.getElementById("progress");
  wrap.hidden = false;
  let text = job.message || job.status;
  if (job.status === "queued" && job.queue_position > 0) {
    text = "Queued: " + job.queue_position + " ahead of you";
  }
  document.getElementById("progress-text").textContent = text;
  document.getElementById("progress-bar").value = job.progress;
}

function finish(job) {
  const button = document.getElementById("generate-button");
  button.disabled = false;
  showProgress(job);
  if (job.status === "succeeded") {
    showResults(job);
  } else {
    const err = document.getElementById("generate-error");
    err.textContent = job.error || "The job did not finish.";
    err.hidden = false;
  }
  refreshBalance();
}

async function refreshBalance() {
  const res = await fetch("/api/user/profile", { credentials: "same-origin" });
  if (!res.ok) return;
  const p = await res.json();
  const b = document.getElementById("credit-balance");
  if (b) b.textContent = String(p.credits);
}

// follow listens to a job's event stream, falling back to polling if streams fail.
function follow(job) {
  showProgress(job);
  const es = new EventSource(job.events_url);
  es.addEventListener("progress", (ev) => {
    const j = JSON.parse(ev.data);
    showProgress(j);
    if (["succeeded", "failed", "canceled"].includes(j.status)) { es.close(); finish(j); }
  });
  es.onerror = () => { es.close(); poll(job.status_url); };
}

async function poll(url) {
  const res = await fetch(url, { credentials: "same-origin" });
  const j = await res.json();
  showProgress(j);
  if (["succeeded", "failed", "canceled"].includes(j.status)) { finish(j); return; }
  setTimeout(() => poll(url), 1000);
}

function setupGenerator() {
  const form = document.getElementById("generate-form");
  if (!form) return;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = document.getElementById("generate-error");
    err.hidden = true;
    const f = new FormData(form);
    const body = {
      prompt: f.get("prompt"), model: f.get("model"), art_style: f.get("art_style"),
      image_size: f.get("image_size"), output_format: f.get("output_format"),
      num_images: Number(f.get("num_images")), async: true,
    };
    if (f.get("negative_prompt")) body.negative_prompt = f.get("negative_prompt");
    if (f.get("seed") !== "" && f.get("seed") !== null) body.seed = Number(f.get("seed"));
    const button = document.getElementById("generate-button");
    button.disabled = true;
    document.getElementById("results").replaceChildren();
    const { status, data } = await postJSON("/generate/image", body);
    if (status !== 202 && status !== 200) {
      button.disabled = false;
      err.textContent = data.error || "The request failed.";
      err.hidden = false;
      return;
    }
    follow(data);
  });
}

function setupConfirms() {
  for (const form of document.querySelectorAll("form.confirm")) {
    form.addEventListener("submit", (ev) => {
      if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setupGenerator();
  setupEnhancer();
  setupConfirms();
});

// setupEnhancer sends the prompt box's text as a topic, with the helper's choices, to
// POST /generate/prompt and puts the enhanced prompt back in the box for the person to edit.
function setupEnhancer() {
  const button = document.getElementById("enhance-button");
  if (!button) return;
  button.addEventListener("click", async () => {
    const prompt = document.getElementById("prompt");
    const note = document.getElementById("enhance-note");
    const body = { topic: prompt.value };
    for (const sel of document.querySelectorAll("select[data-enhance]")) {
      if (sel.value) body[sel.dataset.enhance] = sel.value;
    }
    button.disabled = true;
    note.hidden = true;
    const { status, data } = await postJSON("/generate/prompt", body);
    button.disabled = false;
    note.hidden = false;
    if (status !== 200) {
      note.textContent = data.error || "The prompt could not be enhanced.";
      return;
    }
    prompt.value = data.enhanced_prompt;
    note.textContent = "Written by " + data.engine + " for " + data.credits_used +
      " credit(s). Edit it as you like.";
    refreshBalance();
  });
}
