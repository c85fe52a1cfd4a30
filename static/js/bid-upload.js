// The bidder's pages (bidding/web_bid.py): bidder keys, and sealing + resumable upload of a bid.
//
// Bid page flow (DESIGN.md §5.3, docs/decisions/0026-browser-hashing.md): fetch the opening key →
// pass 1: hash the file (hash-wasm in a Worker) and build the header and summary (sbe1.sealPlan) →
// create an upload of the envelope's exact size → pass 2: encrypt the frames chunk by chunk, hash
// them in order and PUT up to 6 chunks at once, each with its SHA-256 (chunk-pump.js) → on a
// network error back off, ask the server which chunks it holds and rebuild and send only the
// missing ones → sign the digest with the key from IndexedDB → submit → show the receipt (R09).
//
// The envelope is never collected: only the chunks being sent are in memory. Only the upload id
// goes to sessionStorage, so that after a reload the page can say that the upload was left
// unfinished and must be sealed again.
// All data from the server or the user is written with textContent.
import { b64decode, b64encode, sealPlan, signDigest, toHex } from "./sbe1.js";
import { createSha256 } from "./sha256-stream.js";
import { ParallelLimit, chunksPump } from "./chunk-pump.js";
import { backupImport, bidderKeysCreate, bidderKeysPayload, keysetDelete, keysetGet, keysetList } from "./keystore.js";

const config = JSON.parse(document.getElementById("bid-config").textContent);
// Texts: gettext() from Django's JavaScript catalog (jsi18n/, djangojs domain), loaded by the template.
const $ = (id) => document.getElementById(id);

const RETRY_DELAYS_MS = [500, 1000, 2000, 4000]; // then the upload pauses and offers "resume"
const RETRY_AFTER_MAX_MS = 30000; // a busy server's Retry-After is honoured up to this

const STATUS = {
  submitted: gettext("Submitted"),
  replaced: gettext("Replaced by a later bid"),
  withdrawn: gettext("Withdrawn (撤回)"),
  decrypted: gettext("Decrypted"),
  revoked: gettext("Revoked (撤销)"),
  failed_platform: gettext("Withdrawn (platform fault)"),
  disqualified: gettext("Disqualified"),
};

function fmt(text, vars = {}) {
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

function show(el, on = true) {
  if (el) el.hidden = !on;
}

function setText(el, text) {
  if (el) el.textContent = text == null ? "" : String(text);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** Beijing time (the platform's clock), "2026-05-01 09:30:12". */
function fmtTime(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso || "";
  return new Date(t + 8 * 3600 * 1000).toISOString().slice(0, 19).replace("T", " ") + " (UTC+8)";
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

class ApiError extends Error {
  constructor(message, { status = 0, code = "", retryable = false, retryAfterMs = 0 } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryable = retryable;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Retry-After in ms (seconds or an HTTP date); 0 when absent or unreadable. */
function retryAfterMs(header) {
  if (!header) return 0;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, RETRY_AFTER_MAX_MS) : 0;
}

/** Wait before try number attempt+1: our backoff, or longer when a busy server (503) asks; with jitter. */
function retryDelay(err, attempt) {
  const backoff = RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)];
  return Math.round(Math.max(backoff, err.retryAfterMs || 0) * (1 + Math.random() / 4));
}

function busy(err) {
  return err.status === 503 || err.status === 429;
}

function retryableStatus(status, code) {
  return status >= 500 || status === 408 || status === 429 || code === "chunk_hash_mismatch";
}

function errorFrom(status, bodyText, retryAfter = null) {
  let data = null;
  try {
    data = bodyText ? JSON.parse(bodyText) : null;
  } catch {
    data = null;
  }
  const err = data && data.error ? data.error : {};
  return new ApiError(err.message || fmt(gettext("The server answered {status}."), { status }), {
    status,
    code: err.code || "",
    retryable: retryableStatus(status, err.code),
    retryAfterMs: retryAfterMs(retryAfter),
  });
}

/** JSON API call with the session cookie and CSRF header; throws ApiError with the API's message. */
async function api(method, url, json) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  let response, text;
  try {
    response = await fetch(url, init);
    text = await response.text();
  } catch {
    throw new ApiError(gettext("Network error: the server could not be reached."), { retryable: true, code: "network" });
  }
  if (!response.ok) throw errorFrom(response.status, text, response.headers.get("Retry-After"));
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(fmt(gettext("The server answered {status}."), { status: response.status }));
  }
}

function keyStoreMessage(err) {
  return err && err.name === "KeyStoreError" ? fmt(gettext("Key store: {msg}"), { msg: err.message }) : err.message || String(err);
}

function supported() {
  return !!(globalThis.crypto && crypto.subtle && globalThis.indexedDB);
}

function statusLine(el, text, kind = "info") {
  if (!el) return;
  el.className = `status-line status-${kind}`;
  setText(el, text);
  show(el, !!text);
}

// =====================================================================================
// Keys page
// =====================================================================================

function backupName(organization, kid) {
  return `sbe1-keys-${organization}-${kid.slice(0, 8)}.json`;
}

function flashNext(text) {
  sessionStorage.setItem("bidder-keys-flash", text);
}

async function registerKeyset(keyset) {
  return api("POST", config.api.keys, bidderKeysPayload(keyset));
}

async function renderKeysPage() {
  const registered = new Map(config.registered.map((k) => [k.kid, k]));
  const list = $("browser-keysets");
  let keysets = [];
  try {
    keysets = supported() ? await keysetList() : [];
  } catch (err) {
    statusLine($("import-status"), keyStoreMessage(err), "error");
  }
  const held = new Set();
  for (const ks of keysets) {
    held.add(ks.enc.kid);
    held.add(ks.sign.kid);
  }
  for (const row of document.querySelectorAll("#registered-keys tr[data-kid]")) {
    const cell = row.querySelector(".held");
    const yes = held.has(row.dataset.kid);
    cell.dataset.held = yes ? "yes" : "no";
    cell.textContent = "";
    const tag = document.createElement("span");
    tag.className = yes ? "tag tag-ok" : "tag";
    tag.textContent = yes ? `✓ ${gettext("Held here")}` : gettext("Not in this browser");
    cell.append(tag);
  }

  list.textContent = "";
  if (!keysets.length) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = supported() ? gettext("This browser holds no keys.") : gettext("This browser cannot seal bids (WebCrypto and IndexedDB are needed). Use a current Chrome, Edge or Firefox over HTTPS.");
    list.append(li);
    return;
  }
  keysets.sort((a, b) => String(b.created).localeCompare(String(a.created)));
  for (const ks of keysets) {
    const li = document.createElement("li");
    li.className = "keyset";
    const head = document.createElement("div");
    head.className = "keyset-head";
    const title = document.createElement("strong");
    title.textContent = `${gettext("Key set")} ${ks.enc.kid.slice(0, 8)}`;
    const when = document.createElement("span");
    when.className = "muted small";
    when.textContent = fmt(gettext("stored {at}"), { at: fmtTime(ks.created) });
    head.append(title, " ", when);
    li.append(head);
    let allActive = true;
    let anyRegistered = false;
    for (const use of ["enc", "sign"]) {
      const kid = ks[use].kid;
      const reg = registered.get(kid);
      anyRegistered = anyRegistered || !!reg;
      allActive = allActive && !!(reg && reg.active);
      const line = document.createElement("div");
      line.className = "keyset-line";
      const label = document.createElement("span");
      label.className = "keyset-use";
      label.textContent = use === "enc" ? gettext("Encryption") : gettext("Signing");
      const code = document.createElement("code");
      code.className = "mono kid";
      code.title = kid;
      code.textContent = `${kid.slice(0, 16)}…${kid.slice(-8)}`;
      const tag = document.createElement("span");
      tag.className = reg ? (reg.active ? "tag tag-ok" : "tag") : "tag tag-warn";
      tag.textContent = reg ? (reg.active ? gettext("In use") : gettext("Retired")) : gettext("Not registered");
      line.append(label, code, tag);
      li.append(line);
    }
    if (!allActive && !anyRegistered && ks.organization === config.organization) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-small btn-primary";
      button.textContent = gettext("Register these keys for use");
      const status = document.createElement("div");
      status.className = "status-line";
      status.hidden = true;
      button.addEventListener("click", async () => {
        button.disabled = true;
        statusLine(status, gettext("Registering the public keys with the platform…"));
        try {
          await registerKeyset(ks);
          flashNext(gettext("The keys are registered and in use."));
          location.reload();
        } catch (err) {
          statusLine(status, err.message, "error");
          button.disabled = false;
        }
      });
      li.append(button, status);
    }
    list.append(li);
  }
}

function initKeysPage() {
  const flash = sessionStorage.getItem("bidder-keys-flash");
  if (flash) {
    sessionStorage.removeItem("bidder-keys-flash");
    statusLine($("generate-status"), flash, "ok");
  }
  if (!supported()) {
    statusLine($("generate-status"), gettext("This browser cannot seal bids (WebCrypto and IndexedDB are needed). Use a current Chrome, Edge or Firefox over HTTPS."), "error");
    $("generate-btn").disabled = true;
    $("import-btn").disabled = true;
  }

  $("generate-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = $("generate-status");
    const pass = $("gen-pass").value;
    const again = $("gen-pass2").value;
    if (pass.length < 12) return statusLine(status, gettext("The passphrase needs at least 12 characters."), "error");
    if (pass !== again) return statusLine(status, gettext("The two passphrases differ."), "error");
    const button = $("generate-btn");
    button.disabled = true;
    statusLine(status, gettext("Generating keys and encrypting the backup (this takes a few seconds)…"));
    let created;
    try {
      created = await bidderKeysCreate({ organization: config.organization, passphrase: pass });
    } catch (err) {
      statusLine(status, keyStoreMessage(err), "error");
      button.disabled = false;
      return;
    }
    $("gen-pass").value = "";
    $("gen-pass2").value = "";
    statusLine(status, gettext("Registering the public keys with the platform…"));
    const { keyset } = created;
    try {
      const answer = await api("POST", config.api.keys, created.payload);
      const done = fmt(gettext("Done. The backup file “{name}” was downloaded: keep it and the passphrase safe. Encryption key {enc}, signing key {sign}."), {
        name: backupName(config.organization, keyset.enc.kid),
        enc: answer.enc_kid.slice(0, 16),
        sign: answer.sign_kid.slice(0, 16),
      });
      flashNext(done);
      statusLine(status, done, "ok");
      setTimeout(() => location.reload(), 400);
    } catch (err) {
      // The keys are in this browser and in the backup; they can be registered from the list.
      statusLine(status, err.message, "error");
      button.disabled = false;
      renderKeysPage();
    }
  });

  $("import-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = $("import-status");
    const file = $("imp-file").files[0];
    if (!file) return statusLine(status, gettext("Choose the backup file."), "error");
    const button = $("import-btn");
    button.disabled = true;
    statusLine(status, gettext("Checking…"));
    try {
      const keyset = await backupImport(file, $("imp-pass").value);
      if (keyset.organization !== config.organization) {
        await keysetDelete(keyset.id);
        throw new Error(fmt(gettext("This backup belongs to another organization ({org})."), { org: keyset.organization }));
      }
      $("imp-pass").value = "";
      flashNext(fmt(gettext("Imported the keys {kid}."), { kid: keyset.enc.kid.slice(0, 16) }));
      location.reload();
    } catch (err) {
      statusLine(status, keyStoreMessage(err), "error");
      button.disabled = false;
    }
  });

  renderKeysPage();
}

// =====================================================================================
// Bid page
// =====================================================================================

const uploadKey = () => `bid-upload:${config.section}`;
const url = (template, id) => template.replace("UPLOAD", encodeURIComponent(id)).replace("BID", encodeURIComponent(id));

const state = {
  keyset: null,
  busy: false,
  resuming: false,
  upload: null, // {id, count, chunkSize, size, sealed, hasher, hashed, digest, received:Set, sending:Map, paused}
  clock: null, // server clock offset and measured speeds: see timing below
};

// ---- progress ----

// Pass 2 encrypts and uploads at once: the "encrypt" and "upload" steps are current together.
const PHASES = { hash: [0, 20], upload: [20, 97], submit: [97, 100] };
const ORDER = ["hash", "encrypt", "upload", "submit"];
const STEP_OF = { encrypt: "upload" };

function setProgress(phase, fraction, label) {
  show($("progress-panel"));
  const [from, to] = PHASES[phase];
  const pct = Math.max(0, Math.min(100, Math.round(from + (to - from) * Math.max(0, Math.min(1, fraction)))));
  $("progress-fill").style.width = `${pct}%`;
  $("progress").setAttribute("aria-valuenow", String(pct));
  $("progress").dataset.phase = phase;
  setText($("progress-pct"), `${pct}%`);
  if (label !== undefined) setText($("progress-label"), label);
  const at = ORDER.indexOf(phase);
  for (const li of document.querySelectorAll("#steps li")) {
    const i = ORDER.indexOf(STEP_OF[li.dataset.step] || li.dataset.step);
    li.className = i < at || (phase === "submit" && fraction >= 1) ? "done" : i === at ? "current" : "";
  }
}

function showError(message) {
  const box = $("bid-error");
  setText(box, message);
  show(box, !!message);
}

function fieldError(name, message) {
  const wrap = document.querySelector(`[data-field="${CSS.escape(name)}"]`);
  if (!wrap) return;
  wrap.classList.toggle("has-error", !!message);
  const p = wrap.querySelector(".error");
  setText(p, message);
  show(p, !!message);
}

function setBusy(busy) {
  state.busy = busy;
  for (const el of $("bid-form").querySelectorAll("input")) el.disabled = busy;
  $("seal-btn").disabled = busy || !state.keyset;
}

// ---- the opening form ----

const MONEY = /^(0|[1-9][0-9]{0,12})(\.[0-9]{1,2})?$/;
const INTEGER = /^(0|[1-9][0-9]{0,8})$/;

function readForm() {
  const summary = { currency: "CNY" };
  let ok = true;
  for (const f of config.fields) {
    const input = document.getElementById(`f-${f.key}`);
    let value = input.value.trim();
    let problem = "";
    if (!value) problem = fmt(gettext("Fill in “{label}”."), { label: f.label });
    else if (f.type === "money") {
      value = value.replace(/[,，\s]/g, "");
      if (!MONEY.test(value)) problem = fmt(gettext("“{label}” must be an amount in yuan with at most 2 decimals, e.g. 1234567.89."), { label: f.label });
    } else if (f.type === "integer") {
      if (!INTEGER.test(value)) problem = fmt(gettext("“{label}” must be a whole number."), { label: f.label });
    }
    fieldError(f.key, problem);
    if (problem) {
      if (ok) input.focus();
      ok = false;
      continue;
    }
    summary[f.key] = f.type === "integer" ? Number(value) : value;
  }
  const file = $("bid-file").files[0];
  let fileProblem = "";
  if (!file) fileProblem = gettext("Choose the bid file.");
  else if (file.size === 0) fileProblem = gettext("The bid file is empty.");
  fieldError("__file", fileProblem);
  if (fileProblem) ok = false;
  return ok ? { summary, file } : null;
}

// ---- my current bid ----

function statusText(status) {
  return STATUS[status] || status;
}

async function loadMine() {
  let bids;
  try {
    bids = await api("GET", config.api.mine);
  } catch (err) {
    setText($("current-empty"), err.message);
    return;
  }
  bids.sort((a, b) => String(a.received_at).localeCompare(String(b.received_at)));
  const current = [...bids].reverse().find((b) => b.status !== "replaced") || bids[bids.length - 1];
  const live = bids.some((b) => b.status === "submitted");
  show($("replace-warning"), live);
  if (!current) {
    setText($("current-empty"), gettext("You have not submitted a bid for this section."));
    show($("current-empty"));
    show($("current-body"), false);
  } else {
    show($("current-empty"), false);
    show($("current-body"));
    setText($("c-bid"), current.bid_id);
    const tag = document.createElement("span");
    tag.className = `tag ${current.status === "submitted" ? "tag-ok" : current.status === "withdrawn" ? "tag-warn" : ""}`;
    tag.textContent = statusText(current.status);
    $("c-status").replaceChildren(tag);
    setText($("c-time"), fmtTime(current.received_at));
    setText($("c-digest"), current.digest);
    $("c-pdf").href = url(config.api.receipt_pdf, current.bid_id);
    $("c-tsr").href = url(config.api.receipt_tsr, current.bid_id);
    $("c-zip").href = url(config.api.receipt_zip, current.bid_id);
    const withdraw = $("withdraw-btn");
    if (withdraw) {
      show(withdraw, current.status === "submitted" && config.open);
      withdraw.dataset.bid = current.bid_id;
    }
  }
  const earlier = bids.filter((b) => b !== current).reverse();
  show($("history"), earlier.length > 0);
  setText($("history-title"), gettext("Earlier submissions"));
  const list = $("history-list");
  list.textContent = "";
  for (const b of earlier) {
    const li = document.createElement("li");
    const time = document.createElement("span");
    time.textContent = fmtTime(b.received_at);
    const tag = document.createElement("span");
    tag.className = "tag";
    tag.textContent = statusText(b.status);
    const digest = document.createElement("code");
    digest.className = "mono small";
    digest.title = b.digest;
    digest.textContent = `${b.digest.slice(0, 16)}…`;
    li.append(time, " ", tag, " ", digest);
    list.append(li);
  }
  return bids;
}

async function withdraw() {
  const button = $("withdraw-btn");
  const bidId = button.dataset.bid;
  if (!bidId || !window.confirm(gettext("Withdraw this bid? It will not be opened. You can submit a new bid before the deadline."))) return;
  button.disabled = true;
  try {
    await api("DELETE", url(config.api.bid, bidId));
    statusLine($("current-status"), gettext("The bid was withdrawn."), "ok");
    show($("receipt"), false);
  } catch (err) {
    statusLine($("current-status"), err.message, "error");
  } finally {
    button.disabled = false;
    await loadMine();
  }
}

// ---- time left and the deadline (R06: the server's clock decides) ----

// Measured speeds (bytes/s) of this browser, kept for the next bid's estimate before it starts.
const SPEED_KEY = "bid-upload-speed";
const SPEED_GUESS = { hash: 150e6, stream: 5e6 }; // before anything was measured: modest on purpose
const DEADLINE_MARGIN_S = 60;

function speeds() {
  try {
    return { ...SPEED_GUESS, ...JSON.parse(localStorage.getItem(SPEED_KEY) || "{}") };
  } catch {
    return { ...SPEED_GUESS };
  }
}

function speedRemember(kind, bytes, ms) {
  if (bytes < 8 * 1024 * 1024 || ms <= 0) return; // too small to say anything
  try {
    localStorage.setItem(SPEED_KEY, JSON.stringify({ ...speeds(), [kind]: (bytes * 1000) / ms }));
  } catch {
    // private mode: estimates fall back to the guesses
  }
}

/** Seconds left before the deadline on the server's clock (config.server_now read at page load). */
function secondsToDeadline() {
  if (!state.clock) state.clock = { offset: Date.parse(config.server_now) - Date.now() };
  return (Date.parse(config.deadline) - (Date.now() + state.clock.offset)) / 1000;
}

function fmtDuration(s) {
  s = Math.max(0, Math.round(s));
  if (s < 60) return fmt(gettext("{s} s"), { s });
  if (s < 3600) return fmt(gettext("{m} min {s} s"), { m: Math.floor(s / 60), s: s % 60 });
  return fmt(gettext("{h} h {m} min"), { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
}

function withTimeLeft(label, seconds) {
  if (!Number.isFinite(seconds)) return label;
  return `${label} · ${fmt(gettext("about {t} left"), { t: fmtDuration(seconds) })}`;
}

function timeLeftHashing(start, done, total) {
  const elapsed = (performance.now() - start) / 1000;
  const sp = speeds();
  const hashRate = elapsed > 0.5 && done > 0 ? done / elapsed : sp.hash;
  return (total - done) / hashRate + total / sp.stream;
}

function timeLeftStreaming(up, done) {
  const elapsed = (performance.now() - up.started) / 1000;
  const sent = done - up.startedBytes;
  if (elapsed < 1 || sent <= 0) return NaN;
  return (up.size - done) / (sent / elapsed);
}

function deadlineWarning(seconds, left) {
  const box = $("deadline-risk");
  if (!box) return;
  const late = seconds + DEADLINE_MARGIN_S > left;
  setText(
    box,
    late
      ? fmt(gettext("Warning: at the measured speed this bid needs about {need}, but only {left} remain before the deadline. The server's clock decides (R06): a bid that is not complete when bidding closes is refused."), {
          need: fmtDuration(seconds),
          left: fmtDuration(Math.max(0, left)),
        })
      : "",
  );
  show(box, late);
  return late;
}

/** Before sealing: warn, and ask, if the estimate says the bid would finish after the deadline. */
function warnIfLate(fileSize) {
  const sp = speeds();
  const need = fileSize / sp.hash + (fileSize * 1.0001) / sp.stream;
  const left = secondsToDeadline();
  if (!deadlineWarning(need, left)) return true;
  return window.confirm($("deadline-risk").textContent + "\n\n" + gettext("Start anyway?"));
}

/** During the upload: keep the warning up to date with the speed actually measured. */
function checkDeadline(up) {
  const need = timeLeftStreaming(up, receivedBytes(up));
  if (Number.isFinite(need)) deadlineWarning(need, secondsToDeadline());
}

// ---- uploading ----

function receivedBytes(up) {
  let done = 0;
  for (const i of up.received) done += Math.min(up.chunkSize, up.size - i * up.chunkSize);
  return done;
}

function uploadProgress() {
  const up = state.upload;
  let done = receivedBytes(up);
  for (const loaded of up.sending.values()) done += loaded;
  done = Math.min(up.size, done);
  const label = fmt(gettext("Encrypting and uploading {done} of {total} ({chunks}/{count} chunks, {n} at once)"), {
    done: fmtBytes(done),
    total: fmtBytes(up.size),
    chunks: up.received.size,
    count: up.count,
    n: up.parallel.limit,
  });
  setProgress("upload", done / up.size, withTimeLeft(label, timeLeftStreaming(up, done)));
}

/** PUT one chunk with XMLHttpRequest, for byte progress; resolves on 204. */
function putChunk(up, index, bytes, sha, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", `${url(config.api.chunk, up.id)}${index}`);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("X-Chunk-SHA256", sha);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.withCredentials = true;
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else reject(errorFrom(xhr.status, xhr.responseText, xhr.getResponseHeader("Retry-After")));
    };
    xhr.onerror = () => reject(new ApiError(gettext("Network error: the server could not be reached."), { retryable: true, code: "network" }));
    xhr.ontimeout = xhr.onerror;
    xhr.timeout = 120000;
    xhr.send(bytes);
  });
}

/** Envelope bytes of upload chunk `index`, encrypted again from the file if need be. */
function readChunk(up, index) {
  const start = index * up.chunkSize;
  return up.sealed.read(start, Math.min(start + up.chunkSize, up.size));
}

/**
 * What a PUT needs, copied out of the chunk's bytes at once (digest() copies its input when called):
 * a Blob body, not the Uint8Array — Chromium sent parallel ArrayBuffer bodies ~10× slower
 * (bench/browser_seal.py) — and the one-shot WebCrypto SHA-256 for the chunk header.
 */
function packChunk(bytes) {
  return { body: new Blob([bytes]), sha: crypto.subtle.digest("SHA-256", bytes) };
}

async function sendChunk(up, index, { body, sha }) {
  const hex = toHex(new Uint8Array(await sha));
  up.sending.set(index, 0);
  try {
    await putChunk(up, index, body, hex, (loaded) => {
      up.sending.set(index, loaded);
      uploadProgress();
    });
  } finally {
    up.sending.delete(index);
  }
}

/** Pass 2: build, hash and send in parallel what the server lacks (chunk-pump.js). */
function pumpChunks(up) {
  return chunksPump({
    count: up.count,
    received: up.received,
    get hashed() {
      return up.hashed;
    },
    set hashed(n) {
      up.hashed = n;
    },
    parallel: up.parallel,
    read: (index) => readChunk(up, index),
    pack: packChunk,
    hash: (bytes) => up.hasher.update(bytes, { take: true }),
    send: (index, packed) => sendChunk(up, index, packed),
    onSent: () => {
      show($("upload-paused"), false);
      uploadProgress();
      checkDeadline(up);
    },
  });
}

function pauseUpload() {
  const up = state.upload;
  up.paused = true;
  const box = $("upload-paused");
  box.className = "notice notice-warn";
  setText(box, fmt(gettext("The upload was interrupted: {have} of {count} chunks are on the server. Check the network and click “Resume upload”; only the missing chunks will be sent."), { have: up.received.size, count: up.count }));
  show(box);
  show($("resume-btn"));
  $("resume-btn").disabled = false;
}

/** Send what the server lacks; back off and ask again after a network error; pause after a few. */
async function runUpload({ askServer }) {
  const up = state.upload;
  up.paused = false;
  show($("resume-btn"), false);
  show($("upload-paused"), false);
  let failures = 0;
  let ask = askServer;
  up.started = performance.now(); // time left counts from here, not from before a pause
  up.startedBytes = receivedBytes(up);
  for (;;) {
    try {
      if (ask) {
        setProgress("upload", 0, gettext("Asking the server which chunks it already has…"));
        const status = await api("GET", url(config.api.upload, up.id));
        up.received = new Set(status.received);
        ask = false;
      }
      uploadProgress();
      if (up.received.size === up.count && up.hashed === up.count) break;
      await pumpChunks(up);
      failures = 0;
    } catch (err) {
      if (!err.retryable) throw err;
      failures += 1;
      ask = true; // the chunk may have arrived even if the answer did not
      if (failures > RETRY_DELAYS_MS.length) {
        pauseUpload();
        return false;
      }
      const delay = retryDelay(err, failures - 1);
      const box = $("upload-paused");
      box.className = "notice notice-warn";
      const notice = busy(err) ? gettext("The server is busy. Retrying in {s} s… ({n})") : gettext("Connection lost. Retrying in {s} s… ({n})");
      setText(box, fmt(notice, { s: (delay / 1000).toFixed(1), n: failures }));
      show(box);
      await sleep(delay);
    }
  }
  return true;
}

/** Call again while the server answers 503 (it did nothing: safe to repeat), a bounded number of times. */
async function whenNotBusy(call) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!busy(err) || attempt >= RETRY_DELAYS_MS.length) throw err;
      await sleep(retryDelay(err, attempt));
    }
  }
}

async function submitUpload() {
  const up = state.upload;
  if (!up.digest) {
    up.digest = await up.hasher.digest();
    up.hasher.close();
  }
  setProgress("submit", 0, gettext("Signing the digest with your signing key…"));
  const signature = await signDigest(up.digest, state.keyset.sign.privateKey);
  const digest = toHex(up.digest);
  setProgress("submit", 0.5, gettext("Submitting…"));
  let receipt = null;
  for (let attempt = 0; !receipt; attempt++) {
    try {
      receipt = await api("POST", url(config.api.submit, up.id), { digest, signature: b64encode(signature) });
    } catch (err) {
      if (err.code === "upload_closed") {
        // The first attempt got through but its answer was lost: find the bid by its digest.
        const mine = (await api("GET", config.api.mine)) || [];
        receipt = mine.find((b) => b.digest === digest && b.status === "submitted");
        if (receipt) break;
      }
      if (!err.retryable || attempt >= RETRY_DELAYS_MS.length) throw err;
      await sleep(retryDelay(err, attempt));
    }
  }
  return receipt;
}

function showReceipt(receipt) {
  setText($("r-bid"), receipt.bid_id);
  setText($("r-section"), receipt.section);
  setText($("r-time"), fmtTime(receipt.received_at));
  setText($("r-digest"), receipt.digest);
  $("r-pdf").href = url(config.api.receipt_pdf, receipt.bid_id);
  $("r-tsr").href = url(config.api.receipt_tsr, receipt.bid_id);
  $("r-zip").href = url(config.api.receipt_zip, receipt.bid_id);
  show($("receipt"));
  $("receipt").scrollIntoView({ behavior: "smooth", block: "start" });
}

async function finishUpload() {
  const done = await runUpload({ askServer: state.upload.received.size > 0 || state.upload.paused });
  if (!done) return; // paused: the resume button (or coming back online) continues
  speedRemember("stream", state.upload.size - state.upload.startedBytes, performance.now() - state.upload.started);
  const receipt = await submitUpload();
  sessionStorage.removeItem(uploadKey());
  state.upload = null;
  setProgress("submit", 1, gettext("Received."));
  $("bid-file").value = "";
  showReceipt(receipt);
  setBusy(false);
  await loadMine();
}

async function sealAndSubmit(event) {
  event.preventDefault();
  if (state.busy) return;
  showError("");
  show($("receipt"), false);
  const input = readForm();
  if (!input) return;
  setBusy(true);
  let hasher = null;
  try {
    setProgress("hash", 0, gettext("Fetching the section's opening key…"));
    const key = await api("GET", config.api.opening_key);
    if (!warnIfLate(input.file.size)) {
      setBusy(false);
      return;
    }
    hasher = await createSha256();
    const hashStart = performance.now();
    const sealed = await sealPlan({
      file: input.file,
      summary: input.summary,
      section: config.section,
      bidder: config.bidder,
      openingPublicKeySpki: b64decode(key.public_key),
      bidderEncPublicKeySpki: state.keyset.enc.spki,
      chunkSize: config.seal_chunk_size,
      hasher,
      onProgress: ({ done, total }) => {
        const pct = total ? Math.round((100 * done) / total) : 100;
        const label = fmt(gettext("Computing the file's SHA-256 (pass 1 of 2)… {pct}%"), { pct });
        setProgress("hash", done / (total || 1), withTimeLeft(label, timeLeftHashing(hashStart, done, total)));
      },
    });
    speedRemember("hash", input.file.size, performance.now() - hashStart);
    const created = await whenNotBusy(() =>
      api("POST", config.api.uploads, { size: sealed.size, chunk_size: config.upload_chunk_size }),
    );
    state.upload = {
      id: created.upload_id,
      count: created.chunk_count,
      chunkSize: config.upload_chunk_size,
      size: sealed.size,
      sealed,
      hasher,
      hashed: 0,
      digest: null,
      received: new Set(),
      sending: new Map(),
      parallel: new ParallelLimit(),
      started: performance.now(),
      startedBytes: 0,
      paused: false,
    };
    sessionStorage.setItem(uploadKey(), JSON.stringify({ upload_id: created.upload_id, at: Date.now() }));
    show($("reloaded-notice"), false);
    await finishUpload();
  } catch (err) {
    showError(err.message || String(err));
    if (!state.upload || !state.upload.paused) {
      if (hasher) hasher.close();
      state.upload = null;
      setBusy(false);
    }
  }
}

async function resume() {
  // Both the button and the browser's "online" event land here; run one resume at a time.
  if (!state.upload || !state.upload.paused || state.resuming) return;
  state.resuming = true;
  $("resume-btn").disabled = true;
  showError("");
  try {
    await finishUpload();
  } catch (err) {
    showError(err.message || String(err));
    if (state.upload && state.upload.hasher) state.upload.hasher.close();
    state.upload = null;
    show($("resume-btn"), false);
    setBusy(false);
  } finally {
    state.resuming = false;
  }
}

async function initBidPage() {
  const withdrawButton = $("withdraw-btn");
  if (withdrawButton) withdrawButton.addEventListener("click", withdraw);
  const keyState = $("browser-key-state");
  if (!supported()) {
    setText($("unsupported"), gettext("This browser cannot seal bids (WebCrypto and IndexedDB are needed). Use a current Chrome, Edge or Firefox over HTTPS."));
    show($("unsupported"));
  }
  const left = sessionStorage.getItem(uploadKey());
  if (left && $("bid-form")) {
    let id = "";
    try {
      id = JSON.parse(left).upload_id || "";
    } catch {
      id = "";
    }
    setText($("reloaded-notice"), fmt(gettext("An earlier upload on this page ({id}) was not finished. The sealed file was only kept in memory, so after reloading the page you need to seal and upload again."), { id }));
    show($("reloaded-notice"));
    sessionStorage.removeItem(uploadKey());
  }
  loadMine();
  if (config.enc_kid && supported()) {
    try {
      const keyset = await keysetGet(config.enc_kid);
      if (keyset && keyset.sign && keyset.sign.kid === config.sign_kid) state.keyset = keyset;
    } catch (err) {
      showError(keyStoreMessage(err));
    }
  }
  const tag = document.createElement("span");
  tag.className = state.keyset ? "tag tag-ok" : "tag tag-warn";
  tag.textContent = state.keyset ? `✓ ${gettext("Held here")}` : gettext("Not in this browser");
  keyState.replaceChildren(tag);
  const form = $("bid-form");
  if (!form) return;
  show($("no-browser-keys"), !state.keyset && !!config.enc_kid);
  $("seal-btn").disabled = !state.keyset;
  form.addEventListener("submit", sealAndSubmit);
  $("resume-btn").addEventListener("click", resume);
  window.addEventListener("online", () => {
    if (state.upload && state.upload.paused) resume();
  });
  window.addEventListener("beforeunload", (event) => {
    if (state.busy) {
      event.preventDefault();
      event.returnValue = gettext("The upload is not finished. Leave the page?");
    }
  });
  for (const f of config.fields) {
    document.getElementById(`f-${f.key}`).addEventListener("input", () => fieldError(f.key, ""));
  }
  $("bid-file").addEventListener("change", () => fieldError("__file", ""));
}

if (document.getElementById("generate-form")) initKeysPage();
else initBidPage();
