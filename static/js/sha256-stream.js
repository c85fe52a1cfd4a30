// Streaming SHA-256 for sealing (docs/decisions/0026-browser-hashing.md): the vendored
// hash-wasm in a Web Worker (sha256-worker.js), or, where a Worker or WebAssembly is not
// available, the vendored noble JS hash on this thread. Both give the same digests.
import { sha256 as nobleSha256 } from "./vendor/noble-sha256.js";

const WORKER_URL = new URL("./sha256-worker.js", import.meta.url);
const READY_TIMEOUT_MS = 10000;
export const BLOB_SLICE = 4 * 1024 * 1024;
// Bytes sent to the Worker but not yet hashed before update() makes the caller wait: without this
// bound, encrypting faster than hashing queued the whole envelope in the Worker's inbox.
const MAX_QUEUED = 16 * 1024 * 1024;

/** hash-wasm in a Worker: update() copies the bytes across, digest() waits for the answer. */
class WorkerSha256 {
  constructor(worker) {
    this.kind = "wasm-worker";
    this.worker = worker;
    this.waiting = []; // FIFO of {resolve, reject, onProgress}: answers come back in order
    this.failed = null;
    this.queued = 0;
    this.drained = []; // resolvers waiting for the queue to go below MAX_QUEUED
    worker.onmessage = (event) => this.answer(event.data);
    worker.onerror = (event) => this.fail(new Error(event.message || "SHA-256 worker failed"));
  }

  answer(msg) {
    if (msg.op === "hashed") {
      this.queued -= msg.n;
      if (this.queued <= MAX_QUEUED) for (const resolve of this.drained.splice(0)) resolve();
    } else if (msg.op === "progress") {
      const head = this.waiting[0];
      if (head && head.onProgress) head.onProgress(msg.done);
    } else if (msg.op === "digest") {
      this.waiting.shift().resolve(new Uint8Array(msg.digest));
    } else if (msg.op === "error") {
      this.fail(new Error(msg.message));
    }
  }

  fail(err) {
    this.failed = err;
    for (const w of this.waiting.splice(0)) w.reject(err);
    for (const resolve of this.drained.splice(0)) resolve();
  }

  request(message, transfer = [], onProgress = null) {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject, onProgress });
      this.worker.postMessage(message, transfer);
    });
  }

  /**
   * Feed bytes; the promise resolves once the Worker's backlog is small enough to feed more.
   * With {take: true} a Uint8Array that spans its whole buffer is moved to the Worker, not copied
   * (the caller must not use it afterwards).
   */
  update(bytes, { take = false } = {}) {
    if (this.failed) return Promise.reject(this.failed);
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    // slice(): a view would drag its whole buffer across; the copy is transferred, not cloned again.
    const copy = take && whole ? bytes : bytes.slice();
    this.queued += copy.length;
    this.worker.postMessage({ op: "update", bytes: copy }, [copy.buffer]);
    if (this.queued <= MAX_QUEUED) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  digest() {
    return this.request({ op: "digest" });
  }

  hashBlob(blob, { onProgress } = {}) {
    return this.request({ op: "blob", blob, slice: BLOB_SLICE }, [], onProgress);
  }

  close() {
    this.worker.terminate();
  }
}

/** The noble JS hash on this thread: about 14× slower than WebCrypto, kept as the fallback. */
class JsSha256 {
  constructor() {
    this.kind = "js";
    this.hash = nobleSha256.create();
  }

  async update(bytes) {
    this.hash.update(bytes);
  }

  async digest() {
    const out = this.hash.digest();
    this.hash = nobleSha256.create();
    return out;
  }

  async hashBlob(blob, { onProgress } = {}) {
    const hash = nobleSha256.create();
    for (let at = 0; at < blob.size; at += BLOB_SLICE) {
      const end = Math.min(at + BLOB_SLICE, blob.size);
      hash.update(new Uint8Array(await blob.slice(at, end).arrayBuffer()));
      if (onProgress) onProgress(end);
    }
    return hash.digest();
  }

  close() {}
}

function startWorker() {
  return new Promise((resolve, reject) => {
    let worker;
    try {
      worker = new Worker(WORKER_URL);
    } catch (err) {
      reject(err);
      return;
    }
    const timer = setTimeout(() => {
      worker.terminate();
      reject(new Error("SHA-256 worker did not start"));
    }, READY_TIMEOUT_MS);
    worker.onmessage = (event) => {
      clearTimeout(timer);
      if (event.data.op === "ready") resolve(worker);
      else {
        worker.terminate();
        reject(new Error(event.data.message || "SHA-256 worker failed"));
      }
    };
    worker.onerror = (event) => {
      clearTimeout(timer);
      worker.terminate();
      reject(new Error(event.message || "SHA-256 worker failed"));
    };
  });
}

/**
 * A streaming SHA-256: {kind, update(bytes), digest(), hashBlob(blob, {onProgress}), close()};
 * await update() before feeding more, so that memory stays bounded.
 * `prefer: "js"` forces the fallback (tests, benchmarks).
 */
export async function createSha256({ prefer = "wasm" } = {}) {
  if (prefer !== "js" && typeof Worker === "function" && typeof WebAssembly === "object") {
    try {
      return new WorkerSha256(await startWorker());
    } catch {
      // CSP without 'wasm-unsafe-eval', a blocked worker URL, …: fall through to the JS hash.
    }
  }
  return new JsSha256();
}
