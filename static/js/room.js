// 开标大厅: the live opening room (DESIGN.md §8, docs/opening-room.md).
// State comes from the snapshot (embedded in the page, then sent again on every connect) and is kept
// up to date by numbered events. Everything shown is built with textContent: no data goes through
// innerHTML. Bidders decrypt in the browser: their private key (non-extractable, IndexedDB) unwraps
// K2 from the envelope header and only K2 is sent.
import { b64encode, parseHeader, unwrapK2 } from "./sbe1.js";
import { backupImport, keysetList, staffKeyGetOrCreate } from "./keystore.js";

const $ = (id) => document.getElementById(id);
const readJson = (id) => JSON.parse($(id).textContent);

const CONFIG = readJson("room-config");
const ROLE = $("room").dataset.role;
const STAFF = ROLE === "host" || ROLE === "supervisor";

let state = null; // the snapshot's data, kept current by events
let lastSeq = 0;
let clockOffset = 0; // server time − client time, ms
let frozenLeft = null; // ms left when the room was paused
let socket = null;
let attempts = 0;
let reconnectTimer = null;
let refused = false;
let myDecryptBusy = false;
let confirmBusy = false; // signing the record in this browser
let confirmDone = null; // "signed" or "refused" once this party has answered (ADR 0032)
const log = [];

// ---------- text helpers ----------

// Texts: gettext() from Django's JavaScript catalog (jsi18n/, djangojs domain), loaded by the template.
const PHASE = {
  signin: gettext("Sign-in"),
  extraction: pgettext("opening room", "Extracting bids"),
  decryption: gettext("Decryption"),
  reading: gettext("Reading prices"),
  objections: gettext("Objections"),
  record: gettext("Opening record"),
  closed: pgettext("opening room", "Closed"),
  failed: gettext("Failed"),
};
const BID_STATUS = {
  submitted: gettext("Awaiting decryption"),
  decrypted: gettext("Decrypted"),
  revoked: gettext("Revoked (not decrypted: bidder's fault)"),
  failed_platform: gettext("Withdrawn (not decrypted: platform fault)"),
  disqualified: pgettext("opening room", "Disqualified"),
  withdrawn: gettext("Withdrawn"),
};
const CLOCK = {
  signin: gettext("Opening (bid deadline) in"),
  decryption: gettext("Decryption time left"),
  objections: gettext("Time left for objections"),
  extraction: gettext("Extracting the bids…"),
  reading: gettext("Reading the prices…"),
  record: gettext("Making the opening record…"),
  closed: gettext("The opening is over"),
  failed: gettext("This section failed"),
};
const DEPOSIT = { not_checked: gettext("Not checked") };
const FIELD = { price: gettext("Bid price"), duration_days: gettext("Duration (days)"), currency: gettext("Currency") };

function fmt(text, params = {}) {
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

function el(tag, { cls, text, attrs } = {}, ...children) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (attrs) for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const child of children) if (child) node.append(child);
  return node;
}

const LOCALE = CONFIG.lang === "en" ? "en-GB" : "zh-CN";

function localTime(iso, withDate = false) {
  if (!iso) return "—";
  const options = { timeZone: "Asia/Shanghai", hour12: false, hour: "2-digit", minute: "2-digit", second: "2-digit" };
  if (withDate) Object.assign(options, { year: "numeric", month: "2-digit", day: "2-digit" });
  return new Date(iso).toLocaleString(LOCALE, options);
}

/** "2026-11-24 10:52:41" in Beijing time, the way the server writes it. */
function beijing(iso) {
  const parts = {};
  const options = { timeZone: "Asia/Shanghai", hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" };
  for (const p of new Intl.DateTimeFormat("en-GB", options).formatToParts(new Date(iso))) parts[p.type] = p.value;
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
}

function pad(n) {
  return n < 10 ? `0${n}` : String(n);
}

function hms(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(s / 3600);
  const body = `${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
  return h > 0 ? `${h}:${body}` : body;
}

/** "9870000.5" → "9,870,000.50": grouped without going through a float. */
function money(value) {
  if (value === null || value === undefined || value === "") return "—";
  const text = String(value).trim();
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return text;
  const whole = m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const cents = (m[3] || "").padEnd(2, "0");
  return `${m[1]}${whole}.${cents}`;
}

function bidderLabel(name, no) {
  if (name) return name;
  return no ? fmt(gettext("Bidder No. {n}"), { n: no }) : gettext("A bidder");
}

function now() {
  return Date.now() + clockOffset;
}

// ---------- applying messages ----------

function bidByNo(no) {
  return state.bids.find((b) => b.no === no);
}

function apply(msg) {
  if (msg.type === "record_status") {
    if (msg.data.draft) state.draft = msg.data.draft;
    if (msg.data.you) confirmDone = msg.data.you;
    return true;
  }
  if (msg.type === "snapshot") {
    state = msg.data;
    lastSeq = msg.seq;
    const server = Date.parse(state.server_time);
    if (!Number.isNaN(server)) clockOffset = server - Date.now();
    frozenLeft = state.paused && state.phase_ends_at ? null : frozenLeft;
    return true;
  }
  if (msg.seq === null) {
    if (msg.type === "error") showError(msg.data);
    return false;
  }
  if (msg.seq <= lastSeq) return false; // already part of the snapshot or seen before
  lastSeq = msg.seq;
  const d = msg.data || {};
  switch (msg.type) {
    case "phase":
      state.phase = d.phase;
      state.phase_ends_at = d.phase_ends_at;
      state.paused = d.paused;
      addLog(msg.at, fmt(gettext("Phase: {phase}"), { phase: PHASE[d.phase] || d.phase }));
      if (d.phase === "decryption" && ROLE === "bidder") refreshMine();
      if (d.phase === "objections" && !STAFF) refreshMine(); // the sign-in list is public from now on (R12)
      break;
    case "signed_in":
      if (ROLE === "bidder" && state.phase === "signin") {
        // Before the deadline only the bidder itself hears of its sign-in (R14): this one is ours.
        if (state.you) state.you.signed_in = true;
        addLog(msg.at, gettext("You signed in (only you can see this before the opening)"));
        break;
      } else {
        state.signed_in.push(d.bidder);
        if (ROLE === "bidder" && state.you && !state.you.signed_in) refreshMine();
      }
      addLog(msg.at, fmt(gettext("{bidder} signed in"), { bidder: d.bidder || gettext("A bidder") }));
      break;
    case "signin_list":
      state.signed_in = d.signed_in;
      break;
    case "bids_extracted":
      state.bids = d.bids.map((b) => ({ no: b.no, bidder: b.bidder, status: "submitted" }));
      state.total = d.count;
      state.decrypted = 0;
      addLog(msg.at, fmt(gettext("{n} bids extracted"), { n: d.count }));
      if (ROLE === "bidder") refreshMine();
      break;
    case "decrypted": {
      const bid = bidByNo(d.no);
      if (bid) {
        bid.status = "decrypted";
        if (d.bidder) bid.bidder = d.bidder;
      }
      state.decrypted = d.decrypted;
      state.total = d.total;
      if (state.you && state.you.bid_no === d.no) {
        state.you.bid_status = "decrypted";
        myDecryptBusy = false;
        setDecryptStatus(gettext("Your bid is decrypted."), "ok");
      }
      addLog(msg.at, fmt(gettext("{bidder} decrypted ({x}/{n})"), { bidder: bidderLabel(d.bidder, d.no), x: d.decrypted, n: d.total }));
      break;
    }
    case "decrypt_failed":
      if (state.you && state.you.bid_no === d.no) myDecryptBusy = false;
      addLog(msg.at, fmt(gettext("Bid No. {no} failed to decrypt: {message}"), { no: d.no, message: d.message }), "warn");
      break;
    case "bid_outcome": {
      const bid = bidByNo(d.no);
      if (bid) {
        bid.status = d.status;
        bid.reason = d.reason;
        if (d.bidder) bid.bidder = d.bidder;
      }
      if (state.you && state.you.bid_no === d.no) state.you.bid_status = d.status;
      addLog(msg.at, fmt(gettext("{bidder}: {status}"), { bidder: bidderLabel(d.bidder, d.no), status: BID_STATUS[d.status] || d.status }), "warn");
      break;
    }
    case "price_read": {
      let bid = bidByNo(d.no);
      if (!bid) {
        bid = { no: d.no, status: "decrypted" };
        state.bids.push(bid);
      }
      Object.assign(bid, { bidder: d.bidder, order: d.order, form: d.form, deposit: d.deposit });
      addLog(msg.at, fmt(gettext("Read: {bidder}"), { bidder: d.bidder }));
      break;
    }
    case "objection_raised":
      if (!state.objections.some((o) => o.id === d.id)) {
        state.objections.push({ id: d.id, bidder: d.bidder, text: d.text, answer: "", answered: false, at: d.at });
      }
      addLog(msg.at, fmt(gettext("{bidder} raised an objection"), { bidder: d.bidder }));
      break;
    case "objection_answered": {
      const o = state.objections.find((x) => x.id === d.id);
      if (o) Object.assign(o, { answer: d.answer, answered: true, answered_at: d.at });
      addLog(msg.at, gettext("The host answered an objection"));
      break;
    }
    case "paused":
      frozenLeft = state.phase_ends_at ? Date.parse(state.phase_ends_at) - now() : null;
      state.paused = true;
      state.pause_reason = d.reason;
      state.paused_by = d.by;
      addLog(msg.at, fmt(gettext("Paused by the supervisor: {reason}"), { reason: d.reason }), "warn");
      break;
    case "resumed":
      state.paused = false;
      if ("phase_ends_at" in d) state.phase_ends_at = d.phase_ends_at;
      frozenLeft = null;
      addLog(msg.at, gettext("The opening resumed"));
      break;
    case "failed":
      state.failure_reason = d.reason;
      addLog(msg.at, fmt(gettext("Failed: {reason}"), { reason: d.reason }), "warn");
      break;
    case "advanced":
      addLog(msg.at, fmt(gettext("{by} ended this phase early"), { by: d.by }));
      break;
    case "record_draft":
      state.draft = d;
      addLog(msg.at, gettext("The draft record is ready for confirmation"));
      break;
    case "record_confirmed":
      addLog(msg.at, fmt(d.status === "signed" ? gettext("{signer} signed the record") : gettext("{signer} refused to sign the record"), { signer: d.signer }));
      if ((ROLE === "bidder" && CONFIG.me && d.signer === CONFIG.me.organization) || (STAFF && d.role === ROLE)) confirmDone = d.status;
      break;
    case "record_ready":
      state.record = { url: d.url, sha256: d.sha256 };
      addLog(msg.at, gettext("The opening record is ready"));
      break;
    default:
      break;
  }
  return true;
}

function addLog(at, text, kind = "") {
  log.unshift({ at, text, kind });
  if (log.length > 60) log.pop();
}

// ---------- rendering ----------

const STEP_OF = {
  signin: "signin",
  extraction: "decryption",
  decryption: "decryption",
  reading: "reading",
  objections: "objections",
  record: "record",
  closed: "record",
  failed: null,
};
const STEP_ORDER = ["signin", "decryption", "reading", "objections", "record"];

function render() {
  if (!state) return;
  const room = $("room");
  room.dataset.phase = state.phase;
  room.classList.toggle("is-paused", !!state.paused);
  renderSteps();
  renderDeadline();
  renderBanners();
  renderTable();
  renderProgress();
  renderSignins();
  renderObjections();
  renderRecord();
  renderControls();
  renderLog();
  renderClock();
}

function renderSteps() {
  const current = STEP_OF[state.phase];
  const index = current ? STEP_ORDER.indexOf(current) : -1;
  for (const li of $("steps").children) {
    const i = STEP_ORDER.indexOf(li.dataset.step);
    li.classList.toggle("done", state.phase === "closed" ? true : index >= 0 && i < index);
    li.classList.toggle("current", i === index && state.phase !== "closed");
    li.classList.toggle("failed", state.phase === "failed");
    if (i === index && state.phase !== "closed") li.setAttribute("aria-current", "step");
    else li.removeAttribute("aria-current");
  }
}

function renderDeadline() {
  const node = $("deadline-time");
  if (state.deadline && node.getAttribute("datetime") !== state.deadline) {
    node.setAttribute("datetime", state.deadline);
    node.textContent = beijing(state.deadline);
  }
}

function renderBanners() {
  $("banner-paused").hidden = !state.paused;
  const reason = $("paused-reason");
  reason.textContent = state.paused ? fmt(gettext("Reason: {reason}"), { reason: state.pause_reason || "—" }) : "";
  if (state.paused && state.paused_by) reason.textContent += fmt(gettext("({by})"), { by: state.paused_by });
  $("banner-failed").hidden = state.phase !== "failed";
  $("failed-reason").textContent = state.failure_reason || "";
  $("banner-closed").hidden = state.phase !== "closed";
}

function statusTag(status) {
  const cls = { decrypted: "tag-ok", submitted: "tag", revoked: "tag-danger", failed_platform: "tag-danger", disqualified: "tag-danger" }[status] || "tag";
  return el("span", { cls: `tag ${cls}`, text: BID_STATUS[status] || status });
}

function depositTag(deposit) {
  if (!deposit) return el("span", { cls: "muted", text: "—" });
  const ok = ["paid", "ok", "received", "verified"].includes(deposit.status);
  const bad = ["missing", "unpaid", "short", "late", "failed"].includes(deposit.status);
  // the label was worded when the price was read; known statuses follow the reader's language
  const text = DEPOSIT[deposit.status] || deposit.label || deposit.status;
  return el("span", { cls: `tag ${ok ? "tag-ok" : bad ? "tag-danger" : ""}`, text });
}

function formCell(field, value) {
  const td = el("td");
  if (value === undefined) {
    td.append(el("span", { cls: "muted", text: "—" }));
    return td;
  }
  if (field.type === "money") {
    td.className = "num money";
    td.append(el("strong", { text: money(value) }));
    if (value !== null && value !== "") td.append(el("span", { cls: "unit", text: ` ${gettext("CNY")}` }));
  } else if (field.type === "integer") {
    td.className = "num";
    td.textContent = value === null ? "—" : String(value);
  } else {
    td.textContent = value === null ? "—" : typeof value === "object" ? JSON.stringify(value) : String(value);
  }
  return td;
}

function fieldLabel(field) {
  // The agency names the fields; English readers get the platform's name for the usual ones.
  return (CONFIG.lang === "en" && FIELD[field.key]) || field.label || field.key;
}

function renderTable() {
  const fields = state.form_fields && state.form_fields.length ? state.form_fields : [{ key: "price", label: "price", type: "money" }];
  const head = $("record-head");
  head.replaceChildren(
    el("th", { cls: "num", text: gettext("Order") }),
    el("th", { cls: "num", text: gettext("No.") }),
    el("th", { text: gettext("Bidder") }),
    ...fields.map((f) => el("th", { cls: f.type === "money" || f.type === "integer" ? "num" : "", text: fieldLabel(f) })),
    el("th", { text: gettext("Deposit check") }),
    el("th", { text: gettext("Status") }),
  );
  const body = $("record-body");
  const bids = [...state.bids].sort((a, b) => (a.order || 999) - (b.order || 999) || a.no - b.no);
  if (!bids.length) {
    body.replaceChildren(el("tr", {}, el("td", { cls: "empty", text: gettext("Bids are listed at the opening."), attrs: { colspan: String(fields.length + 5) } })));
    $("table-count").textContent = "";
    return;
  }
  const mine = state.you && state.you.bid_no;
  body.replaceChildren(
    ...bids.map((bid) => {
      const tr = el("tr", { attrs: { "data-no": String(bid.no) } });
      if (bid.order) tr.classList.add("read");
      if (mine && bid.no === mine) tr.classList.add("mine");
      tr.append(
        el("td", { cls: "num order", text: bid.order || "" }),
        el("td", { cls: "num", text: bid.no }),
        el("td", { cls: bid.bidder ? "bidder" : "bidder masked", text: bidderLabel(bid.bidder, bid.no) },
          mine && bid.no === mine ? el("span", { cls: "tag mine-tag", text: gettext("You") }) : null),
        ...fields.map((f) => formCell(f, bid.form ? bid.form[f.key] : undefined)),
        el("td", {}, bid.deposit ? depositTag(bid.deposit) : el("span", { cls: "muted", text: "—" })),
        el("td", {}, statusTag(bid.status)),
      );
      if (bid.reason && bid.status !== "decrypted") tr.title = bid.reason;
      return tr;
    }),
  );
  const read = bids.filter((b) => b.order).length;
  $("table-count").textContent = read ? `${read} / ${bids.length}` : "";
}

function renderProgress() {
  const total = state.total || 0;
  const done = state.decrypted || 0;
  $("progress-x").textContent = String(done);
  $("progress-n").textContent = String(total);
  const bar = $("progress-bar");
  bar.setAttribute("aria-valuemax", String(total));
  bar.setAttribute("aria-valuenow", String(done));
  $("progress-fill").style.width = total ? `${Math.round((100 * done) / total)}%` : "0";
  bar.classList.toggle("complete", total > 0 && done === total);
  $("progress-text").textContent = total ? fmt(gettext("{x} of {n} decrypted"), { x: done, n: total }) : gettext("The number of bids is shown at the opening.");
}

function renderSignins() {
  const list = $("signin-list");
  const names = state.signed_in || [];
  $("signin-count").textContent = names.length ? fmt(gettext("{n} signed in"), { n: names.length }) : "";
  if (!names.length) {
    list.replaceChildren(el("li", { cls: "muted", text: state.phase === "signin" ? gettext("Until the opening, who has signed in is kept secret from everyone (R14).") : gettext("Nobody has signed in yet.") }));
  } else {
    list.replaceChildren(
      ...names.map((name, i) => el("li", { cls: name ? "" : "masked" }, el("span", { cls: "check", text: "✓", attrs: { "aria-hidden": "true" } }), el("span", { text: name || fmt(gettext("Signed-in bidder {n}"), { n: i + 1 }) }))),
    );
  }
  $("signin-note").textContent = names.some((n) => n === null) ? gettext("Names are published once the prices are read") : "";
}

function renderObjections() {
  const box = $("objection-list");
  const items = state.objections || [];
  const pending = items.filter((o) => !o.answered).length;
  $("objection-count").textContent = items.length ? `${items.length - pending} / ${items.length} ${gettext("Answered")}` : "";
  // keep what the host is typing while events re-render the list
  const drafts = {};
  for (const ta of box.querySelectorAll("textarea[data-objection]")) drafts[ta.dataset.objection] = ta.value;
  if (!items.length) {
    box.replaceChildren(el("p", { cls: "empty", text: gettext("No objections.") }));
  } else {
    box.replaceChildren(
      ...items.map((o) => {
        const art = el("article", { cls: `room-objection ${o.answered ? "answered" : "pending"}`, attrs: { "data-id": String(o.id) } });
        const head = el("header", {}, el("strong", { text: o.bidder }));
        if (o.at) head.append(el("time", { cls: "muted small", text: localTime(o.at) }));
        head.append(el("span", { cls: `tag ${o.answered ? "tag-ok" : "tag-warn"}`, text: o.answered ? gettext("Answered") : gettext("Awaiting an answer") }));
        art.append(head, el("blockquote", { text: o.text }));
        if (o.answered) {
          art.append(el("p", { cls: "answer" }, el("span", { cls: "muted", text: gettext("Host's answer:") }), el("span", { text: ` ${o.answer}` })));
        } else if (ROLE === "host") {
          const ta = el("textarea", { attrs: { rows: "2", maxlength: "5000", placeholder: gettext("Your answer"), "data-objection": String(o.id), "aria-label": gettext("Your answer") } });
          ta.value = drafts[o.id] || "";
          const btn = el("button", { cls: "btn btn-primary btn-small", text: gettext("Answer"), attrs: { type: "button", "data-answer": String(o.id) } });
          btn.disabled = !!state.paused;
          art.append(el("div", { cls: "answer-form" }, ta, btn));
        }
        return art;
      }),
    );
  }
}

function renderRecord() {
  const confirming = state.phase === "record" && ROLE !== "public";
  if ($("record-confirm")) $("record-confirm").hidden = !confirming;
  if (confirming) {
    $("btn-confirm-record").disabled = confirmBusy || !!confirmDone || !!state.paused;
    $("btn-refuse-record").hidden = ROLE !== "bidder";
    $("btn-refuse-record").disabled = confirmBusy || !!confirmDone || !!state.paused;
    $("record-draft-link").href = CONFIG.draft_url;
    if (confirmDone) setConfirmStatus(confirmDone === "signed" ? `✓ ${gettext("You have signed the record.")}` : gettext("You refused to sign the record."), "ok");
  }
  const ready = !!state.record;
  $("record-ready").hidden = !ready;
  $("record-wait").hidden = ready;
  $("record-card").classList.toggle("ready", ready);
  if (ready) {
    $("record-link").href = state.record.url;
    $("record-sha").textContent = state.record.sha256;
  }
}

function renderControls() {
  const p = state.phase;
  if (ROLE === "bidder") {
    const you = state.you || {};
    const signinOpen = now() >= Date.parse(state.signin_opens_at);
    const signinPhase = ["signin", "extraction", "decryption"].includes(p);
    $("you-signin").textContent = you.signed_in ? `✓ ${gettext("Signed in")}` : gettext("Not signed in");
    $("you-signin").className = you.signed_in ? "ok-state" : "";
    let bidText = gettext("You have no valid bid in this section.");
    if (you.bid_id) bidText = you.bid_no ? fmt(gettext("No. {n}"), { n: you.bid_no }) : gettext("Numbered at the opening");
    $("you-bid").replaceChildren(document.createTextNode(bidText));
    if (you.bid_status && you.bid_no) $("you-bid").append(document.createTextNode(" "), statusTag(you.bid_status));
    const btn = $("btn-signin");
    btn.hidden = !!you.signed_in;
    btn.disabled = !signinPhase || !signinOpen || !!you.signed_in;
    $("signin-hint").textContent = !you.signed_in && !signinOpen && p === "signin" ? fmt(gettext("Sign-in opens at {t}"), { t: beijing(state.signin_opens_at) }) : "";
    const canDecrypt = p === "decryption" && !state.paused && you.bid_id && you.bid_status === "submitted";
    $("btn-decrypt").disabled = !canDecrypt || myDecryptBusy;
    $("decrypt-box").hidden = !you.bid_id;
    const pending = you.bid_status === "submitted" && ["signin", "extraction", "decryption"].includes(p);
    for (const node of document.querySelectorAll(".decrypt-tools")) node.hidden = !pending;
    $("btn-decrypt").hidden = !pending;
    const status = $("decrypt-status");
    if (you.bid_status === "decrypted") setDecryptStatus(gettext("Your bid is decrypted."), "ok");
    else if (!myDecryptBusy && !status.dataset.kind) status.textContent = p === "decryption" ? "" : gettext("You can decrypt once the decryption window opens.");
    const form = $("objection-form");
    if (form) {
      const open = p === "objections" && !state.paused && !!you.bid_no;
      const before = ["signin", "extraction", "decryption", "reading"].includes(p);
      form.hidden = !open && !before;
      $("objection-text").hidden = !open;
      $("objection-send").hidden = !open;
      $("objection-hint").hidden = open;
    }
  } else if (ROLE === "host") {
    const pending = (state.objections || []).some((o) => !o.answered);
    const allDone = state.total > 0 && state.decrypted === state.total;
    $("btn-advance").disabled = state.paused || !((p === "decryption" && allDone) || (p === "objections" && !pending));
  } else if (ROLE === "supervisor") {
    const live = !["closed", "failed"].includes(p);
    $("btn-pause").disabled = !live || !!state.paused;
    $("btn-resume").disabled = !state.paused;
    for (const node of $("controls-supervisor").querySelectorAll(".field, .btn-row")) node.hidden = !live;
    $("supervisor-done").hidden = live;
  }
}

function renderLog() {
  const list = $("event-log");
  list.replaceChildren(
    ...log.slice(0, 30).map((e) => el("li", { cls: e.kind }, el("time", { text: localTime(e.at) }), el("span", { text: e.text }))),
  );
  list.parentElement.hidden = !log.length;
}

function renderClock() {
  if (!state) return;
  const p = state.phase;
  const label = $("clock-label");
  const time = $("clock-time");
  const sub = $("clock-sub");
  const clock = $("clock");
  const ends = state.phase_ends_at ? Date.parse(state.phase_ends_at) : null;
  clock.dataset.phase = p;
  clock.classList.toggle("paused", !!state.paused);
  const timed = ["signin", "decryption", "objections"].includes(p) && ends;
  if (!timed) {
    label.textContent = CLOCK[p] || "";
    time.textContent = p === "closed" ? "✓" : p === "failed" ? "—" : "··· ";
    sub.textContent = "";
    clock.classList.remove("soon");
    return;
  }
  label.textContent = CLOCK[p];
  let left = state.paused ? (frozenLeft ?? ends - now()) : ends - now();
  left = Math.max(0, left);
  time.textContent = hms(left);
  clock.classList.toggle("soon", !state.paused && left < 60000);
  if (state.paused) sub.textContent = gettext("Paused; the clock has stopped");
  else if (left <= 0) sub.textContent = p === "objections" && state.objections.some((o) => !o.answered) ? gettext("Time is up; waiting for the host to answer every objection") : gettext("Time is up; the room moves on in a moment…");
  else sub.textContent = fmt(gettext("Ends at {t}"), { t: localTime(state.phase_ends_at) });
}

// ---------- notices ----------

function showError(data) {
  const message = (data && data.message) || "";
  toast(fmt(gettext("Not done: {message}"), { message }), "error");
  if (data && data.command === "decrypt") {
    myDecryptBusy = false;
    setDecryptStatus(message, "error");
    renderControls();
  }
}

function toast(text, kind = "info") {
  const box = $("toasts");
  const item = el("div", { cls: `notice ${kind === "error" ? "notice-danger" : kind === "ok" ? "notice-ok" : "notice-warn"}`, attrs: { role: kind === "error" ? "alert" : "status" } });
  const close = el("button", { cls: "toast-close", text: "×", attrs: { type: "button", "aria-label": gettext("Dismiss") } });
  close.addEventListener("click", () => item.remove());
  item.append(el("span", { text }), close);
  box.append(item);
  while (box.children.length > 3) box.firstChild.remove();
  setTimeout(() => item.remove(), 12000);
}

function setDecryptStatus(text, kind = "") {
  const status = $("decrypt-status");
  if (!status) return;
  status.textContent = text;
  status.dataset.kind = kind;
  status.className = `help decrypt-status ${kind}`;
}

// ---------- the socket ----------

function setConn(stateName, text) {
  const conn = $("conn");
  conn.dataset.state = stateName;
  $("conn-text").textContent = text;
}

function connect() {
  clearTimeout(reconnectTimer);
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}${CONFIG.ws}`);
  socket = ws;
  let opened = false;
  setConn(attempts ? "reconnecting" : "connecting", attempts ? gettext("Connection lost, reconnecting…") : gettext("Connecting…"));
  ws.addEventListener("open", () => {
    opened = true;
    attempts = 0;
    setConn("live", gettext("Live"));
    // The server sends a snapshot on connect; ask for anything after what we hold as well.
    ws.send(JSON.stringify({ type: "resume", after_seq: lastSeq }));
    if (ROLE !== "public" && state && state.phase === "record") ws.send(JSON.stringify({ type: "record_status" }));
  });
  ws.addEventListener("message", (event) => {
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch {
      return;
    }
    if (msg.type === "pong") return;
    if (apply(msg)) render();
  });
  ws.addEventListener("close", () => {
    if (socket !== ws) return;
    socket = null;
    // A refused handshake (wrong origin, no such room) looks like any other drop to a browser, so
    // keep trying with backoff and say so once it has failed many times in a row.
    refused = !opened && attempts >= 6;
    scheduleReconnect();
  });
}

function scheduleReconnect() {
  attempts += 1;
  const delay = Math.min(15000, 500 * 2 ** Math.min(attempts - 1, 5)) * (0.75 + Math.random() * 0.5);
  const until = Date.now() + delay;
  setConn(refused ? "refused" : "reconnecting", refused ? gettext("The server refused the connection. Reload or log in again.") : gettext("Connection lost, reconnecting…"));
  const tick = () => {
    const s = Math.ceil((until - Date.now()) / 1000);
    if (s > 0 && !socket) {
      if (!refused) $("conn-text").textContent = fmt(gettext("Connection lost, retrying in {s} s…"), { s });
      reconnectTimer = setTimeout(tick, 500);
    } else if (!socket) {
      connect();
    }
  };
  reconnectTimer = setTimeout(tick, Math.min(delay, 500));
}

function send(message) {
  if (!socket || socket.readyState !== WebSocket.OPEN) {
    toast(gettext("Connection lost, reconnecting…"), "warn");
    return false;
  }
  socket.send(JSON.stringify(message));
  return true;
}

// Keepalive that also heals: the channel layer may drop a message (it is fire-and-forget); a gap is filled
// when the next event arrives, and this periodic resume fills a gap at the tail, such as a lost final event.
setInterval(() => {
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify({ type: "resume", after_seq: lastSeq }));
  }
}, 10000);

// ---------- confirming the record (ADR 0032) ----------

function setConfirmStatus(text, kind = "") {
  const node = $("confirm-status");
  node.textContent = text;
  node.className = `small ${kind}`;
}

/** The key this party signs with: a bidder's registered SBE1 signing key, or the staff member's browser key. */
async function signingKey() {
  if (STAFF) return staffKeyGetOrCreate(CONFIG.signer_id);
  const { header } = await parseHeader(await headerBlob());
  const keyset = await findKey(header);
  if (!keyset) return null;
  return { privateKey: keyset.sign.privateKey, spki: keyset.sign.spki, created: false };
}

async function confirmRecord() {
  confirmBusy = true;
  renderRecord();
  setConfirmStatus(gettext("Signing the record in this browser…"));
  try {
    const response = await fetch(CONFIG.draft_url, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    // Sign what this browser downloaded, not what the server says it sent.
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await response.arrayBuffer()));
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    const key = await signingKey();
    if (!key) {
      setConfirmStatus(gettext("This browser does not hold your signing key. Import your key backup file."), "warn");
      $("key-import").open = true;
      return;
    }
    const message = new TextEncoder().encode(`SBE1-RECORD-CONFIRM\n${CONFIG.section}\n${hex}`);
    const signature = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key.privateKey, message));
    const command = { type: "confirm_record", signature: b64encode(signature) };
    if (STAFF) command.public_key = b64encode(key.spki);
    if (send(command)) setConfirmStatus(gettext("Signature sent…"));
  } catch (err) {
    setConfirmStatus(fmt(gettext("Could not sign the record: {error}"), { error: err.message || String(err) }), "warn");
  } finally {
    confirmBusy = false;
    renderRecord();
  }
}

// ---------- bidder: my bid and decryption ----------

async function refreshMine() {
  try {
    const response = await fetch(CONFIG.snapshot_url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const snap = await response.json();
    if (!snap.data || !state) return;
    if (snap.data.you) state.you = snap.data.you;
    if (snap.data.signed_in && snap.data.signed_in.length >= state.signed_in.length) state.signed_in = snap.data.signed_in;
    render();
  } catch {
    /* the next snapshot brings it */
  }
}

async function headerBlob() {
  const picked = $("sbe-file").files[0];
  if (picked) return picked; // the bidder's own sealed file: the header is at its start
  const url = CONFIG.header_url.replace("{id}", encodeURIComponent(state.you.bid_id));
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.blob();
}

async function findKey(header) {
  const sets = await keysetList();
  return sets.find((k) => k.enc && k.enc.kid === header.bidder_kid) || null;
}

async function describeKeys() {
  if (ROLE !== "bidder" || !state || !state.you || !state.you.bid_id || state.you.bid_status !== "submitted") return;
  try {
    const { header } = await parseHeader(await headerBlob());
    const key = await findKey(header);
    const line = $("key-state");
    line.textContent = key ? `✓ ${gettext("This browser holds the key that matches your bid.")}` : gettext("This browser does not hold the key for your bid. Import your key backup file.");
    line.className = `key-state small ${key ? "ok" : "missing"}`;
    if (!key) $("key-import").open = true;
  } catch {
    /* shown again when the bidder decrypts */
  }
}

async function decryptMine() {
  if (!state.you || !state.you.bid_id) return;
  myDecryptBusy = true;
  renderControls();
  let blob;
  let header;
  try {
    setDecryptStatus(gettext("Fetching the envelope header…"), "busy");
    blob = await headerBlob();
    header = (await parseHeader(blob)).header;
  } catch (err) {
    myDecryptBusy = false;
    setDecryptStatus(fmt(gettext("Cannot fetch the envelope header: {e}"), { e: err.message || err }), "error");
    renderControls();
    return;
  }
  const keyset = await findKey(header).catch(() => null);
  if (!keyset) {
    myDecryptBusy = false;
    setDecryptStatus(gettext("This browser does not hold the key for your bid. Import your key backup file."), "error");
    $("key-import").open = true;
    $("key-state").textContent = gettext("This browser does not hold the key for your bid. Import your key backup file.");
    $("key-state").className = "key-state small missing";
    renderControls();
    return;
  }
  let k2;
  try {
    setDecryptStatus(gettext("Unwrapping K2 with your private key…"), "busy");
    k2 = await unwrapK2(blob, keyset.enc.privateKey);
  } catch (err) {
    myDecryptBusy = false;
    setDecryptStatus(fmt(gettext("Could not unwrap K2: {e}"), { e: err.message || err }), "error");
    renderControls();
    return;
  }
  const sent = send({ type: "decrypt", bid_id: state.you.bid_id, k2: b64encode(k2) });
  k2.fill(0);
  if (sent) setDecryptStatus(gettext("Sent; the platform is checking…"), "busy");
  else myDecryptBusy = false;
  renderControls();
}

async function importBackup() {
  const file = $("backup-file").files[0];
  const pass = $("backup-pass").value;
  const status = $("import-status");
  if (!file || !pass) {
    status.textContent = gettext("Choose the backup file and enter its passphrase.");
    return;
  }
  status.textContent = gettext("Checking the passphrase and importing…");
  $("btn-import").disabled = true;
  try {
    await backupImport(file, pass);
    $("backup-pass").value = "";
    status.textContent = `✓ ${gettext("The key is now stored in this browser.")}`;
    status.className = "help ok";
    $("key-import").open = false;
    await describeKeys();
  } catch (err) {
    status.textContent = err.message || String(err);
    status.className = "help error-text";
  } finally {
    $("btn-import").disabled = false;
  }
}

// ---------- wiring ----------

function wire() {
  if (ROLE === "bidder") {
    $("btn-signin").addEventListener("click", () => send({ type: "sign_in" }));
    $("btn-refuse-record").addEventListener("click", () => {
      const reason = window.prompt(gettext("Why do you refuse to sign the record?"));
      if (reason !== null) send({ type: "refuse_record", reason });
    });
    $("btn-decrypt").addEventListener("click", () => decryptMine());
    $("btn-import").addEventListener("click", () => importBackup());
    $("sbe-file").addEventListener("change", () => describeKeys());
    $("objection-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = $("objection-text").value.trim();
      if (text && send({ type: "objection", text })) $("objection-text").value = "";
    });
  }
  if (ROLE === "host") {
    $("btn-advance").addEventListener("click", () => send({ type: "advance" }));
    $("objection-list").addEventListener("click", (event) => {
      const btn = event.target.closest("button[data-answer]");
      if (!btn) return;
      const id = btn.dataset.answer;
      const ta = $("objection-list").querySelector(`textarea[data-objection="${id}"]`);
      const answer = ta ? ta.value.trim() : "";
      if (!answer) {
        if (ta) ta.focus();
        return;
      }
      send({ type: "answer", objection_id: id, answer });
    });
  }
  if (ROLE !== "public") $("btn-confirm-record").addEventListener("click", () => confirmRecord());
  if (ROLE === "supervisor") {
    $("btn-pause").addEventListener("click", () => {
      const reason = $("pause-reason").value.trim();
      if (!reason) {
        toast(gettext("Give the reason for pausing."), "warn");
        $("pause-reason").focus();
        return;
      }
      if (send({ type: "pause", reason })) $("pause-reason").value = "";
    });
    $("btn-resume").addEventListener("click", () => {
      if (send({ type: "resume_room", reason: $("pause-reason").value.trim() })) $("pause-reason").value = "";
    });
  }
}

apply(readJson("room-snapshot"));
wire();
render();
connect();
setInterval(() => {
  renderClock();
  if (ROLE === "bidder" && state && state.phase === "signin") renderControls();
}, 250);
if (ROLE === "bidder") describeKeys();

// for tests and the curious: the room's current state, read-only
window.openingRoom = {
  get state() {
    return state ? JSON.parse(JSON.stringify(state)) : null;
  },
  get lastSeq() {
    return lastSeq;
  },
  get connected() {
    return !!socket && socket.readyState === WebSocket.OPEN;
  },
  drop() {
    if (socket) socket.close(4000, "test");
  },
};
