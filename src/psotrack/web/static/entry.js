// psotrack entry pages: the live score of an assessment form, and each analyte's units.
// The server scores (POST /api/v1/score/{instrument}); this script only collects what was typed,
// sends it, and shows the answer. No score is computed here.
"use strict";

(function liveScore() {
  const form = document.querySelector("form[data-live-score]");
  if (!form) {
    return;
  }
  const url = form.dataset.liveScore;
  const INTEGER = /^[+-]?[0-9]+$/;
  const DECIMAL = /^[+-]?[0-9]+(\.[0-9]+)?$/;
  const total = form.querySelector("[data-live-total]");
  const note = form.querySelector("[data-live-note]");
  const summary = form.querySelector("[data-live-summary]");
  const others = form.querySelector("[data-live-problems]");
  let sent = 0;
  let timer = null;

  // A typed value as the JSON the server reads: numbers only when they are ASCII numbers;
  // anything else is sent as typed, so that the server names what is wrong with it.
  function convert(text, kind) {
    const clean = text.trim();
    if (clean === "") {
      return undefined;
    }
    if (kind === "int" && INTEGER.test(clean)) {
      return Number(clean);
    }
    if (kind === "number" && DECIMAL.test(clean)) {
      return Number(clean);
    }
    return clean;
  }

  function put(root, path, value) {
    const keys = path.split(".");
    let node = root;
    for (const key of keys.slice(0, -1)) {
      if (typeof node[key] !== "object" || node[key] === null) {
        node[key] = {};
      }
      node = node[key];
    }
    if (value !== undefined) {
      node[keys[keys.length - 1]] = value;
    }
  }

  // Objects left empty two levels down (a nail not examined) are left out.
  function prune(node, depth) {
    for (const [key, value] of Object.entries(node)) {
      if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        prune(value, depth + 1);
        if (depth >= 1 && Object.keys(value).length === 0) {
          delete node[key];
        }
      }
    }
  }

  function responses() {
    const root = {};
    const seen = new Set();
    for (const field of form.querySelectorAll("[data-path]")) {
      if (field.type === "radio") {
        if (seen.has(field.name)) {
          continue;
        }
        seen.add(field.name);
        const chosen = Array.from(form.elements[field.name]).find((r) => r.checked);
        const blank = field.dataset.blank === "null" ? null : undefined;
        put(root, field.dataset.path, chosen ? convert(chosen.value, field.dataset.kind) : blank);
      } else {
        put(root, field.dataset.path, convert(field.value, field.dataset.kind));
      }
    }
    prune(root, 0);
    return root;
  }

  function clearProblems() {
    for (const span of form.querySelectorAll("[data-error-for]")) {
      span.textContent = "";
    }
    others.replaceChildren();
  }

  function showSummary(rows) {
    summary.replaceChildren();
    if (!Array.isArray(rows) || rows.length === 0) {
      summary.classList.add("hidden");
      return;
    }
    const head = summary.createTHead().insertRow();
    const keys = Object.keys(rows[0]);
    for (const key of keys) {
      const cell = document.createElement("th");
      cell.textContent = key.replaceAll("_", " ");
      head.appendChild(cell);
    }
    const body = summary.createTBody();
    for (const row of rows) {
      const line = body.insertRow();
      for (const key of keys) {
        line.insertCell().textContent = row[key] === null || row[key] === undefined ? "" : String(row[key]);
      }
    }
    summary.classList.remove("hidden");
  }

  function showParts(rows) {
    for (const output of form.querySelectorAll("[data-part]")) {
      const row = Array.isArray(rows) ? rows.find((r) => r.region === output.dataset.part) : null;
      output.textContent = row ? String(row.contribution) : "—";
    }
  }

  function showScored(answer) {
    clearProblems();
    const details = answer.details || {};
    total.textContent = answer.score === null ? "not scored" : answer.score;
    note.textContent = details.invalid_reason || details.band || details.severity || details.grade_name || "";
    showSummary(details.summary);
    showParts(details.summary);
  }

  function showRefused(detail) {
    clearProblems();
    total.textContent = "—";
    showSummary([]);
    showParts([]);
    let missing = 0;
    for (const problem of Array.isArray(detail) ? detail : []) {
      if (problem.type === "missing") {
        missing += 1;
        continue;
      }
      const name = (problem.loc || []).slice(2).join(".");
      const span = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
      if (span) {
        span.textContent = problem.msg;
      } else {
        const item = document.createElement("li");
        item.textContent = problem.msg;
        others.appendChild(item);
      }
    }
    note.textContent = missing ? `the score appears when every item is filled (${missing} to go)` : "";
  }

  async function ask() {
    const mine = ++sent;
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": psotrackCsrfToken() },
        body: JSON.stringify(responses()),
      });
    } catch (error) {
      note.textContent = "live score unavailable (no connection); the score is computed on saving";
      return;
    }
    if (mine !== sent) {
      return; // a newer request is on its way
    }
    if (response.ok) {
      showScored(await response.json());
    } else if (response.status === 422) {
      showRefused((await response.json()).detail);
    } else {
      note.textContent = `live score unavailable (${response.status}); the score is computed on saving`;
    }
  }

  function soon() {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 150);
  }

  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
  if (form.querySelector("[data-path]")) {
    ask();
  }
})();

(function analyteUnits() {
  const analyte = document.querySelector("select[data-analyte-select]");
  const unit = document.querySelector("select[data-unit-select]");
  if (!analyte || !unit) {
    return;
  }
  function narrow() {
    for (const option of unit.options) {
      if (option.dataset.analyte) {
        option.hidden = analyte.value !== "" && option.dataset.analyte !== analyte.value;
      }
    }
    const chosen = unit.selectedOptions[0];
    if (chosen && chosen.hidden) {
      unit.value = "";
    }
  }
  analyte.addEventListener("change", narrow);
  narrow();
})();
