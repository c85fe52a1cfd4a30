// SHA-256 off the page's thread: hash-wasm (static/vendor/hash-wasm/) in a classic Worker.
// Messages in order: {op:"blob", blob, slice} hashes a File/Blob by slices and answers
// {op:"progress", done} then {op:"digest", digest}; {op:"update", bytes} feeds bytes (no answer);
// {op:"digest"} answers the digest of what was fed and starts a fresh hash.
/* global hashwasm */
importScripts("../vendor/hash-wasm/sha256.umd.min.js");

let hasher = null;
let chain = hashwasm
  .createSHA256()
  .then((h) => {
    hasher = h;
    hasher.init();
    postMessage({ op: "ready" });
  })
  .catch((err) => postMessage({ op: "error", message: String(err && err.message ? err.message : err) }));

async function hashBlob(blob, slice) {
  hasher.init();
  let lastReport = 0;
  const read = (at) => blob.slice(at, Math.min(at + slice, blob.size)).arrayBuffer();
  let next = read(0); // one slice read ahead: the disk works while the hash does
  for (let at = 0; at < blob.size; at += slice) {
    const end = Math.min(at + slice, blob.size);
    const bytes = new Uint8Array(await next);
    if (end < blob.size) next = read(end);
    hasher.update(bytes);
    if (end - lastReport >= 8 * slice || end === blob.size) {
      lastReport = end;
      postMessage({ op: "progress", done: end });
    }
  }
  postMessage({ op: "digest", digest: hasher.digest("binary") });
  hasher.init();
}

function handle(msg) {
  if (msg.op === "update") {
    hasher.update(msg.bytes);
    postMessage({ op: "hashed", n: msg.bytes.length }); // lets the page bound what is queued here
  }
  else if (msg.op === "digest") {
    postMessage({ op: "digest", digest: hasher.digest("binary") });
    hasher.init();
  } else if (msg.op === "blob") return hashBlob(msg.blob, msg.slice);
}

onmessage = (event) => {
  chain = chain
    .then(() => handle(event.data))
    .catch((err) => postMessage({ op: "error", message: String(err && err.message ? err.message : err) }));
};
