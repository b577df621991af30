// The page of `siren serve`: plain JavaScript over the server's JSON API and its
// server-sent events (see siren-cli/src/serve/mod.rs for the routes).
"use strict";

const $ = (root, sel) => root.querySelector(sel);
const $$ = (root, sel) => Array.from(root.querySelectorAll(sel));
const COLOURS = { siren: "#d62728", relu: "#1f77b4", "relu-pe": "#2ca02c", tanh: "#9467bd",
  none: "#7f7f7f", tv: "#ff7f0e", fh: "#17becf" };
const LABELS = { siren: "SIREN", relu: "ReLU", "relu-pe": "ReLU + P.E.", tanh: "tanh",
  none: "no prior", tv: "TV", fh: "Hessian-Frobenius" };

async function api(url, options) {
  const r = await fetch(url, options);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || `${r.status} ${r.statusText}`);
  return body;
}

// ---- tabs
for (const b of $$(document, "nav button")) {
  b.addEventListener("click", () => {
    $$(document, "nav button").forEach(x => x.classList.toggle("active", x === b));
    $$(document, "section.page").forEach(s => s.classList.toggle("active", s.id === b.dataset.page));
    if (b.dataset.page === "explore") explore.refreshModels();
    if (b.dataset.page === "fields") fieldsView.refreshRuns();
    if (b.dataset.page === "faces") facesView.load().catch(e => { $(facesView.s, ".message").textContent = e.message; });
  });
}

// ---- images on offer
async function loadImages(select) {
  const images = await api("/api/images");
  for (const sel of $$(document, "select.image")) {
    const keep = sel.value;
    sel.innerHTML = "";
    for (const im of images) sel.add(new Option(im.id, im.id));
    sel.value = select || keep || images[0].id;
    if (!sel.value) sel.value = images[0].id;
  }
}

// ---- a PSNR chart with labelled axes and a legend
function drawChart(canvas, series, ylabel) {
  const g = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, L = 72, R = 150, T = 20, B = 42;
  g.clearRect(0, 0, W, H);
  g.font = "12px sans-serif";
  const pts = Object.values(series).flat();
  g.fillStyle = "#222";
  g.fillText(ylabel + " over steps", L, 14);
  if (pts.length === 0) { g.fillText("no steps yet", L + 10, H / 2); return; }
  const xmax = Math.max(...pts.map(p => p[0]), 1);
  let ymin = Math.min(...pts.map(p => p[1])), ymax = Math.max(...pts.map(p => p[1]));
  if (ymax - ymin < 1) { ymin -= 0.5; ymax += 0.5; }
  const X = x => L + (W - L - R) * x / xmax, Y = y => T + (H - T - B) * (1 - (y - ymin) / (ymax - ymin));
  g.strokeStyle = "#999"; g.beginPath(); g.moveTo(L, T); g.lineTo(L, H - B); g.lineTo(W - R, H - B); g.stroke();
  g.fillStyle = "#444";
  for (let i = 0; i <= 4; i++) {
    const y = ymin + (ymax - ymin) * i / 4;
    g.textAlign = "right"; g.fillText(y.toFixed(1), L - 6, Y(y) + 4); g.textAlign = "left";
    const x = xmax * i / 4;
    g.fillText(String(Math.round(x)), X(x) - 8, H - B + 16);
  }
  g.fillText("step", (L + W - R) / 2, H - 6);
  g.save(); g.translate(14, (T + H - B) / 2); g.rotate(-Math.PI / 2); g.textAlign = "center"; g.fillText(ylabel, 0, 0); g.restore();
  let ly = T + 10;
  for (const [name, s] of Object.entries(series)) {
    g.strokeStyle = COLOURS[name] || "#000"; g.lineWidth = 2; g.beginPath();
    s.forEach((p, i) => (i ? g.lineTo(X(p[0]), Y(p[1])) : g.moveTo(X(p[0]), Y(p[1]))));
    g.stroke(); g.lineWidth = 1;
    g.fillStyle = COLOURS[name] || "#000"; g.fillRect(W - R + 12, ly - 8, 14, 3);
    g.fillStyle = "#222";
    const last = s.length ? ` ${s[s.length - 1][1].toFixed(2)}` : "";
    g.fillText((LABELS[name] || name) + last, W - R + 30, ly - 4);
    ly += 18;
  }
}

// ---- a training page: Fit, Poisson, Inpainting
class TaskPage {
  constructor(section) {
    this.s = section;
    this.task = section.dataset.task;
    this.run = null;
    this.source = null;
    $(section, ".start").addEventListener("click", () => this.start());
    $(section, ".stop").addEventListener("click", () => this.stop());
    $(section, ".resume").addEventListener("click", () => this.resume());
    const upload = $(section, ".upload");
    if (upload) upload.addEventListener("change", e => this.upload(e.target.files[0]));
    for (const sel of [".image", ".size", ".target", ".mask", ".fraction"]) {
      const el = $(section, sel);
      if (el) el.addEventListener("change", () => this.showTruth());
    }
  }
  value(sel) { return $(this.s, sel).value; }
  number(sel) { return Number($(this.s, sel).value); }
  message(text) { $(this.s, ".message").textContent = text || ""; }

  isField() { return this.task === "fields"; }

  showTruth() {
    if (!$(this.s, ".image")) return;
    const id = encodeURIComponent(this.value(".image")), size = this.value(".size");
    $(this.s, ".truth img").src = `/api/image.png?id=${id}&size=${size}`;
    $(this.s, ".truth .meta").textContent = `${this.value(".image")} at ${size}x${size}`;
    if (this.task === "poisson") {
      const t = this.value(".target");
      $(this.s, ".target img").src = `/api/image.png?id=${id}&size=${size}&layer=${t}`;
      $(this.s, ".target .meta").textContent = t === "gradient" ? "|Sobel gradient| (grey)" : "discrete Laplacian (blue − / red +)";
    }
    if (this.task === "inpaint") masks.reset(this);
  }

  async upload(file) {
    if (!file) return;
    try {
      const r = await api("/api/images", { method: "POST", body: file });
      await loadImages(r.id);
      this.showTruth();
      this.message("");
    } catch (e) { this.message(e.message); }
  }

  request() {
    if (this.isField()) {
      return { task: this.value(".problem"), scale: this.value(".scale"), medium: this.value(".medium"),
        steps: this.number(".steps"), models: $$(this.s, ".model").filter(c => c.checked).map(c => c.value) };
    }
    const r = { task: this.task, image: this.value(".image"), size: this.number(".size"),
      steps: this.number(".steps"), hidden: this.number(".hidden"), layers: this.number(".layers"),
      lr: this.number(".lr"), w0: this.number(".w0") };
    if (this.task === "inpaint") {
      r.priors = $$(this.s, ".prior").filter(c => c.checked).map(c => ({ kind: c.value,
        weight: c.value === "none" ? 0 : this.number(`.weight-${c.value}`) }));
      const kind = this.value(".mask");
      if (kind === "drawn") {
        r.mask = "drawn";
        r.mask_png = masks.png(this);
      } else {
        r.mask = `${kind}:${this.value(".fraction")}`;
      }
    } else {
      r.models = $$(this.s, ".model").filter(c => c.checked).map(c => c.value);
    }
    if (this.task === "poisson") r.target = this.value(".target");
    return r;
  }

  async start() {
    let r;
    try { r = this.request(); } catch (e) { this.message(e.message); return; }
    try {
      const started = await api("/api/runs", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(r) });
      this.message("");
      this.follow(started.id, r);
    } catch (e) { this.message(e.message); }
  }

  async stop() {
    if (!this.run) return;
    try { await api(`/api/runs/${this.run.id}/stop`, { method: "POST" }); } catch (e) { this.message(e.message); }
  }

  async resume() {
    if (!this.run) return;
    const steps = this.number(".steps");
    try {
      await api(`/api/runs/${this.run.id}/resume?steps=${steps}`, { method: "POST" });
      this.run.request.steps = steps;
      this.follow(this.run.id, this.run.request);
    } catch (e) { this.message(e.message); }
  }

  members(request) {
    return request.task === "inpaint" ? request.priors.map(p => p.kind) : request.models;
  }

  follow(id, request) {
    if (this.run && this.run.events) this.run.events.close();
    this.s.dataset.state = "running";
    this.s.dataset.run = id;
    const run = { id, request, series: {}, events: null };
    this.run = run;
    $$(this.s, ".panel.member").forEach(p => p.remove());
    const panels = $(this.s, ".panels");
    for (const m of this.members(request)) {
      run.series[m] = [];
      const p = document.createElement("div");
      p.className = "panel member";
      p.dataset.member = m;
      const picture = this.isField() ? "" : `<img class="recon" alt="${m}">`;
      p.innerHTML = `<h3 style="color:${COLOURS[m]}">${LABELS[m] || m}</h3>${picture}` +
        `<progress max="${request.steps}" value="0"></progress><div class="meta">starting…</div>`;
      panels.appendChild(p);
    }
    $(this.s, ".stop").disabled = false;
    $(this.s, ".resume").disabled = true;
    $(this.s, ".start").disabled = true;
    const panel = m => $(this.s, `.panel.member[data-member="${m}"]`);
    const field = this.isField();
    const chart = () => drawChart($(this.s, ".chart"), run.series,
      field ? "log10 training loss" : request.task === "inpaint" ? "PSNR on hidden pixels (dB)" : "PSNR (dB)");
    chart();
    const es = new EventSource(`/api/runs/${id}/events`);
    run.events = es;
    es.addEventListener("metric", e => {
      const d = JSON.parse(e.data), p = panel(d.member);
      if (!p) return;
      $(p, "progress").value = d.step;
      if (field) {
        const s = run.series[d.member];
        // every 10th step keeps the chart light over thousands of steps
        if (d.step % 10 === 0 || d.step === request.steps) s.push([d.step, Math.log10(d.loss)]);
        $(p, ".meta").textContent = `step ${d.step}: loss ${d.loss.toExponential(3)}`;
        if (d.step % 50 === 0) chart();
      } else if (d.psnr !== null && d.psnr !== undefined) {
        run.series[d.member].push([d.step, d.psnr]);
        $(p, ".meta").textContent = `step ${d.step}: PSNR ${d.psnr.toFixed(2)} dB`;
        chart();
      }
    });
    es.addEventListener("preview", e => {
      const d = JSON.parse(e.data), p = panel(d.member);
      if (field) fieldsView.changed(id);
      else if (p) $(p, "img").src = d.url;
    });
    es.addEventListener("status", e => {
      const d = JSON.parse(e.data), p = panel(d.member);
      if (!p) return;
      const st = d.status.state;
      p.dataset.status = st;
      if (st === "failed") {
        $(p, ".meta").textContent = "failed: " + d.status.message;
        this.message(`${LABELS[d.member] || d.member}: ${d.status.message}`);
      } else if (st !== "running") {
        $(p, ".meta").textContent = `${st} · ` + $(p, ".meta").textContent.replace(/^(finished|stopped) · /, "");
      }
    });
    es.addEventListener("end", () => {
      es.close();
      if (field) { chart(); fieldsView.refreshRuns(id); }
      this.s.dataset.state = "ended";
      $(this.s, ".stop").disabled = true;
      $(this.s, ".start").disabled = false;
      $(this.s, ".resume").disabled = !$$(this.s, ".panel.member").some(p => p.dataset.status === "stopped");
    });
    es.onerror = () => { if (this.s.dataset.state !== "ended") this.message("lost the connection to the server; it retries"); };
  }
}

// ---- drawing a mask for inpainting: black = hidden
const masks = {
  state: null,
  reset(page) {
    const canvas = $(page.s, "#mask-canvas");
    const size = Number(page.value(".size"));
    const kind = page.value(".mask");
    const id = encodeURIComponent(page.value(".image"));
    canvas.width = size; canvas.height = size;
    const hidden = new Uint8Array(size * size);
    this.state = { canvas, size, hidden, img: new Image(), kind };
    const img = this.state.img;
    img.onload = () => this.paint();
    img.src = kind === "drawn" ? `/api/image.png?id=${id}&size=${size}`
      : `/api/mask.png?id=${id}&size=${size}&mask=${kind}:${page.value(".fraction")}`;
    $(page.s, ".brush").disabled = kind !== "drawn";
  },
  paint() {
    const { canvas, size, hidden, img } = this.state;
    const g = canvas.getContext("2d");
    g.drawImage(img, 0, 0, size, size);
    g.fillStyle = "#000";
    for (let i = 0; i < hidden.length; i++) if (hidden[i]) g.fillRect(i % size, Math.floor(i / size), 1, 1);
  },
  brush(page, e) {
    const st = this.state;
    if (!st || st.kind !== "drawn") return;
    const rect = st.canvas.getBoundingClientRect();
    const cx = (e.clientX - rect.left) / rect.width * st.size, cy = (e.clientY - rect.top) / rect.height * st.size;
    const r = Number(page.value(".brush")) * st.size / 128;
    for (let y = Math.floor(cy - r); y <= cy + r; y++) for (let x = Math.floor(cx - r); x <= cx + r; x++) {
      if (x >= 0 && y >= 0 && x < st.size && y < st.size && (x - cx) ** 2 + (y - cy) ** 2 <= r * r) st.hidden[y * st.size + x] = 1;
    }
    this.paint();
  },
  png(page) {
    const st = this.state;
    if (!st || !st.hidden.some(v => v)) throw new Error("draw on the image to hide the pixels to inpaint (or pick another mask)");
    const c = document.createElement("canvas");
    c.width = st.size; c.height = st.size;
    const g = c.getContext("2d");
    g.fillStyle = "#fff"; g.fillRect(0, 0, st.size, st.size);
    g.fillStyle = "#000";
    st.hidden.forEach((v, i) => { if (v) g.fillRect(i % st.size, Math.floor(i / st.size), 1, 1); });
    return c.toDataURL("image/png");
  },
};

// ---- the explorer: the network rendered over any rectangle at the canvas's resolution
const explore = {
  s: document.getElementById("explore"),
  view: { cx: 0, cy: 0, half: 1 },
  pending: null,
  async refreshModels(select) {
    const sel = $(this.s, ".models");
    const keep = select || sel.value;
    const models = await api("/api/models");
    sel.innerHTML = "";
    for (const m of models) sel.add(new Option(m.id, m.id));
    if (keep && models.some(m => m.id === keep)) sel.value = keep;
    if (!models.length) { $(this.s, ".message").textContent = "no model yet: train one on another page, or upload a model file"; return; }
    $(this.s, ".message").textContent = "";
    this.render();
  },
  render() {
    const model = $(this.s, ".models").value;
    if (!model) return;
    const canvas = document.getElementById("explore-view");
    const { cx, cy, half } = this.view;
    const q = new URLSearchParams({ model, x0: cx - half, x1: cx + half, y0: cy - half, y1: cy + half,
      w: canvas.width, h: canvas.height, layer: $(this.s, ".layer").value });
    $(this.s, ".extent").textContent = `x ∈ [${(cx - half).toPrecision(4)}, ${(cx + half).toPrecision(4)}], ` +
      `y ∈ [${(cy - half).toPrecision(4)}, ${(cy + half).toPrecision(4)}] (zoom ×${(1 / half).toPrecision(3)})`;
    clearTimeout(this.pending);
    this.pending = setTimeout(() => {
      const img = new Image();
      img.onload = () => { canvas.getContext("2d").drawImage(img, 0, 0); this.s.dataset.rendered = q.toString(); };
      img.onerror = async () => {
        const r = await fetch("/api/render.png?" + q).then(r => r.json()).catch(() => ({}));
        $(this.s, ".message").textContent = r.error || "the render failed";
      };
      img.src = "/api/render.png?" + q;
    }, 60);
  },
};
{
  const canvas = document.getElementById("explore-view");
  let drag = null;
  canvas.addEventListener("pointerdown", e => { drag = { x: e.clientX, y: e.clientY, ...explore.view }; canvas.setPointerCapture(e.pointerId); });
  canvas.addEventListener("pointermove", e => {
    if (!drag) return;
    const scale = 2 * drag.half / canvas.getBoundingClientRect().width;
    explore.view.cx = drag.cx - (e.clientX - drag.x) * scale;
    explore.view.cy = drag.cy - (e.clientY - drag.y) * scale;
    explore.render();
  });
  canvas.addEventListener("pointerup", () => { drag = null; });
  canvas.addEventListener("wheel", e => {
    e.preventDefault();
    const rect = canvas.getBoundingClientRect(), v = explore.view;
    const px = v.cx + ((e.clientX - rect.left) / rect.width * 2 - 1) * v.half;
    const py = v.cy + ((e.clientY - rect.top) / rect.height * 2 - 1) * v.half;
    const f = Math.exp(e.deltaY * 0.002);
    v.cx = px + (v.cx - px) * f; v.cy = py + (v.cy - py) * f; v.half *= f;
    explore.render();
  }, { passive: false });
  $(explore.s, ".layer").addEventListener("change", () => explore.render());
  $(explore.s, ".models").addEventListener("change", () => explore.render());
  $(explore.s, ".reset").addEventListener("click", () => { explore.view = { cx: 0, cy: 0, half: 1 }; explore.render(); });
  $(explore.s, ".model-upload").addEventListener("change", async e => {
    try {
      const r = await api("/api/models", { method: "POST", body: e.target.files[0] });
      await explore.refreshModels(r.id);
    } catch (err) { $(explore.s, ".message").textContent = err.message; }
  });
}

// ---- the Fields page's viewer: reference and networks on one colour scale
const fieldsView = {
  s: document.getElementById("fields"),
  pending: null,
  last: 0,
  async refreshRuns(select) {
    const sel = $(this.s, ".field-run");
    const keep = select || sel.value;
    const runs = (await api("/api/runs")).filter(r => r.request.task === "wave" || r.request.task === "helmholtz");
    sel.innerHTML = "";
    for (const r of runs) sel.add(new Option(`${r.id} (${r.request.medium}, ${r.request.scale}, ${r.request.steps} steps)`, r.id));
    if (keep && runs.some(r => r.id === keep)) sel.value = keep;
    this.load();
  },
  changed(id) {
    // a new checkpoint of the run on show: redraw at most every 2 s
    if ($(this.s, ".field-run").value !== id && $(this.s, ".field-run").options.length) return;
    if (!$(this.s, ".field-run").options.length) { this.refreshRuns(id); return; }
    if (Date.now() - this.last > 2000) { this.last = Date.now(); this.load(); }
  },
  load() {
    const run = $(this.s, ".field-run").value;
    if (!run) return;
    const t = Number($(this.s, ".t").value);
    $(this.s, ".t-value").textContent = t.toFixed(3);
    clearTimeout(this.pending);
    this.pending = setTimeout(async () => {
      try {
        const v = await api(`/api/fields?run=${run}&t=${t}&n=129`);
        this.draw(v);
        this.s.dataset.drawn = `${run} ${v.panels.length}`;
      } catch (e) { $(this.s, ".message").textContent = e.message; }
    }, 80);
  },
  draw(v) {
    const wave = v.problem === "wave";
    $(this.s, ".time").style.display = wave ? "" : "none";
    $(this.s, ".component").style.display = wave ? "none" : "";
    const part = wave ? "re" : $(this.s, ".part").value;
    const values = p => part === "abs" ? p.re.map((r, i) => Math.hypot(r, p.im[i])) : p[part];
    const ref = values(v.panels[0]);
    // Helmholtz: the source's peak saturates; half the largest value shows the rings (as the CLI's figures)
    const scale = Math.max(...ref.map(Math.abs), 1e-12) * (wave ? 1 : 0.5);
    const box = $(this.s, ".field-panels");
    box.innerHTML = "";
    for (const p of v.panels) {
      const div = document.createElement("div");
      div.className = "panel";
      const err = p.relative_l2 === null || p.relative_l2 === undefined ? "solver" :
        `relative L2 ${p.relative_l2.toFixed(3)}` + (p.amplitude_free != null ? ` · amplitude-free ${p.amplitude_free.toFixed(3)}` : "");
      div.innerHTML = `<h3>${LABELS[p.name] || p.name}</h3><canvas width="${v.n}" height="${v.n}"></canvas>` +
        `<canvas class="colourbar" width="256" height="10"></canvas><div class="meta">${err}<br>${p.source || ""}</div>`;
      box.appendChild(div);
      const [canvas, bar] = $$(div, "canvas");
      paintField(canvas, values(p), v.n, scale, part === "abs");
      paintBar(bar, scale, part === "abs");
    }
    $(this.s, ".colour-note").textContent = (part === "abs" ? "grey: 0 to " : "blue − / red +, ±") + scale.toPrecision(3) +
      " (the reference's " + (wave ? "peak" : "half peak") + "), shared by every panel";
  },
};
function colourOf(v, positive) {
  if (positive) { const g = Math.round(255 * (1 - Math.min(Math.max(v, 0), 1))); return [g, g, g]; }
  const x = Math.min(Math.max(v, -1), 1), f = t => Math.round(255 * (1 - t));
  return x >= 0 ? [255, f(x), f(x)] : [f(-x), f(-x), 255];
}
function paintField(canvas, values, n, scale, positive) {
  const g = canvas.getContext("2d"), img = g.createImageData(n, n);
  values.forEach((v, i) => { const c = colourOf(v / scale, positive); img.data.set([...c, 255], 4 * i); });
  g.putImageData(img, 0, 0);
}
function paintBar(canvas, scale, positive) {
  const g = canvas.getContext("2d");
  for (let x = 0; x < canvas.width; x++) {
    const v = positive ? x / canvas.width : 2 * x / canvas.width - 1;
    g.fillStyle = `rgb(${colourOf(v, positive).join(",")})`; g.fillRect(x, 0, 1, canvas.height);
  }
}
{
  const s = fieldsView.s;
  $(s, ".t").addEventListener("input", () => fieldsView.load());
  $(s, ".part").addEventListener("change", () => fieldsView.load());
  $(s, ".field-run").addEventListener("change", () => fieldsView.load());
  const steps = { wave: { quick: 1500, default: 5000 }, helmholtz: { quick: 750, default: 2000 } };
  const setSteps = () => { $(s, ".steps").value = steps[$(s, ".problem").value][$(s, ".scale").value]; };
  $(s, ".problem").addEventListener("change", setSteps);
  $(s, ".scale").addEventListener("change", setSteps);
}

// ---- the Faces page: a hypernetwork completes a face from the clicked pixels
const facesView = {
  s: document.getElementById("faces"),
  known: new Set(),
  size: 0,
  truth: new Image(),
  pending: null,
  loaded: false,
  async load() {
    if (this.loaded) return;
    const r = await api("/api/faces");
    this.loaded = true;
    const hs = $(this.s, ".hypernet"), fs = $(this.s, ".face");
    r.models.forEach((m, i) => hs.add(new Option(m.split("/").slice(-3).join("/"), i)));
    r.faces.forEach(f => fs.add(new Option(f, f)));
    $(this.s, ".message").textContent = r.note;
    if (r.models.length && r.faces.length) this.complete();
  },
  complete() {
    clearTimeout(this.pending);
    this.pending = setTimeout(async () => {
      try {
        const r = await api("/api/faces/complete", { method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ model: Number($(this.s, ".hypernet").value), face: $(this.s, ".face").value, known: [...this.known] }) });
        this.size = r.size;
        $(this.s, ".context").src = r.context;
        if (r.completion) $(this.s, ".completion").src = r.completion;
        else $(this.s, ".completion").removeAttribute("src");
        $(this.s, ".count").textContent = `${this.known.size} of ${r.size * r.size} pixels`;
        $(this.s, ".mse").textContent = r.mse === null ? "click the face to give the encoder pixels" : `MSE ${r.mse.toFixed(4)} (values in [0, 1])`;
        this.truth.onload = () => this.paint();
        this.truth.src = r.truth;
        this.s.dataset.completed = String(this.known.size);
      } catch (e) { $(this.s, ".message").textContent = e.message; }
    }, 120);
  },
  paint() {
    const c = document.getElementById("face-canvas"), g = c.getContext("2d"), k = c.width / this.size;
    g.imageSmoothingEnabled = false;
    g.drawImage(this.truth, 0, 0, c.width, c.height);
    g.strokeStyle = "#ff0"; g.lineWidth = 1;
    for (const i of this.known) g.strokeRect((i % this.size) * k + 0.5, Math.floor(i / this.size) * k + 0.5, k - 1, k - 1);
  },
  reveal(e) {
    if (!this.size) return;
    const c = document.getElementById("face-canvas"), r = c.getBoundingClientRect();
    const x = Math.floor((e.clientX - r.left) / r.width * this.size), y = Math.floor((e.clientY - r.top) / r.height * this.size);
    if (x < 0 || y < 0 || x >= this.size || y >= this.size) return;
    const i = y * this.size + x;
    if (!this.known.has(i)) { this.known.add(i); this.paint(); this.complete(); }
  },
};
{
  const s = facesView.s, c = document.getElementById("face-canvas");
  let down = false;
  c.addEventListener("pointerdown", e => { down = true; facesView.reveal(e); });
  c.addEventListener("pointermove", e => { if (down) facesView.reveal(e); });
  window.addEventListener("pointerup", () => { down = false; });
  for (const b of $$(s, ".random")) b.addEventListener("click", () => {
    const n = facesView.size * facesView.size;
    for (let added = 0, tries = 0; added < Number(b.dataset.count) && tries < 100 * n; tries++) {
      const i = Math.floor(Math.random() * n);
      if (!facesView.known.has(i)) { facesView.known.add(i); added++; }
    }
    facesView.complete();
  });
  $(s, ".clear").addEventListener("click", () => { facesView.known.clear(); facesView.complete(); });
  $(s, ".face").addEventListener("change", () => facesView.complete());
  $(s, ".hypernet").addEventListener("change", () => { facesView.known.clear(); facesView.complete(); });
}

// ---- start
const pages = $$(document, "section.page[data-task]").map(s => new TaskPage(s));
{
  const inpaint = pages.find(p => p.task === "inpaint");
  const canvas = document.getElementById("mask-canvas");
  let down = false;
  canvas.addEventListener("pointerdown", e => { down = true; masks.brush(inpaint, e); });
  canvas.addEventListener("pointermove", e => { if (down) masks.brush(inpaint, e); });
  window.addEventListener("pointerup", () => { down = false; });
  $(inpaint.s, ".clear-mask").addEventListener("click", e => { e.preventDefault(); masks.reset(inpaint); });
  $(inpaint.s, ".brush").addEventListener("change", () => {});
}
loadImages().then(() => pages.forEach(p => p.showTruth())).catch(e => pages.forEach(p => p.message(e.message)));
window.siren = { pages, explore, masks, fieldsView, facesView };
