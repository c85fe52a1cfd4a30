// SBE1 sealed-bid envelope (DESIGN.md §5.2) in the browser: WebCrypto for every
// key operation; where hashing must stream, sha256-stream.js (hash-wasm in a Worker,
// the vendored noble SHA-256 as fallback). See docs/decisions/0026-browser-hashing.md.
// 密封投标文件 (sealed bid file): "SBE1" ‖ uint32 H ‖ header ‖ summary frame ‖ documents frames.
import { sha256 } from "./vendor/noble-sha256.js";
import { createSha256 } from "./sha256-stream.js";

const subtle = globalThis.crypto.subtle;
const MAGIC = new Uint8Array([0x53, 0x42, 0x45, 0x31]); // "SBE1"
const SUITE = "P256-HKDF-SHA256-A256GCM";
const PART_SUMMARY = 0;
const PART_DOCUMENTS = 1;
const TAG_BYTES = 16;
const MAX_HEADER_BYTES = 64 * 1024;
const MAX_SUMMARY_BYTES = 64 * 1024;
export const MIN_CHUNK_SIZE = 65536;
export const MAX_CHUNK_SIZE = 4194304;

/** Any failure to seal or open an envelope; `message` is meant for the user. */
export class EnvelopeError extends Error {
  constructor(message) {
    super(message);
    this.name = "EnvelopeError";
  }
}

// ---------- bytes, base64, hex ----------

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

export function utf8(text) {
  return encoder.encode(text);
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(hex) {
  if (typeof hex !== "string" || hex.length % 2 !== 0 || /[^0-9a-fA-F]/.test(hex)) {
    throw new EnvelopeError("not a hex string");
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

export function b64encode(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export function b64decode(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new EnvelopeError("not base64");
  }
  let binary;
  try {
    binary = atob(text);
  } catch {
    throw new EnvelopeError("not base64");
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** base64url without padding, as every binary field of the header. */
export function b64urlEncode(bytes) {
  return b64encode(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function b64urlDecode(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new EnvelopeError("not base64url");
  }
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return b64decode(padded);
}

function concatBytes(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function uint32be(n) {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

function asBytes(value, what) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new EnvelopeError(`${what} must be bytes`);
}

/**
 * Compact JSON, byte-equal to Python's json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
 * for strings, integers, booleans, null, arrays and objects. Floats differ (1.0 vs 1), so a
 * summary holds prices as decimal strings and counts as integers.
 */
export function jsonBytes(value) {
  return utf8(JSON.stringify(value));
}

async function sha256Once(bytes) {
  return new Uint8Array(await subtle.digest("SHA-256", bytes));
}

/** kid: the lowercase hex SHA-256 of a public key's SPKI DER. */
export function kidOf(spkiBytes) {
  return toHex(sha256(asBytes(spkiBytes, "public key")));
}

// ---------- key derivation and wrapping ----------

async function hkdf(ikm, salt, info) {
  const key = await subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const bits = await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info: utf8(info) }, key, 256);
  return new Uint8Array(bits);
}

function aesKey(raw, usages) {
  return subtle.importKey("raw", raw, { name: "AES-GCM" }, false, usages);
}

async function partKeys(k1, k2) {
  const ikm = concatBytes(k1, k2);
  const salt = new Uint8Array(32);
  const [summary, documents] = await Promise.all([
    hkdf(ikm, salt, "SBE1 summary"),
    hkdf(ikm, salt, "SBE1 documents"),
  ]);
  return {
    summary: await aesKey(summary, ["encrypt", "decrypt"]),
    documents: await aesKey(documents, ["encrypt", "decrypt"]),
  };
}

function frameNonce(part, index, last) {
  const nonce = new Uint8Array(12);
  const view = new DataView(nonce.buffer);
  view.setUint32(0, part, false);
  view.setUint32(4, index, false);
  view.setUint32(8, last ? 1 : 0, false);
  return nonce;
}

function importEcdhPublic(spki) {
  return subtle.importKey("spki", spki, { name: "ECDH", namedCurve: "P-256" }, false, []);
}

async function importEcdhPrivate(key) {
  if (key instanceof CryptoKey) return key;
  return subtle.importKey(
    "pkcs8",
    asBytes(key, "private key"),
    { name: "ECDH", namedCurve: "P-256" },
    false,
    ["deriveBits"],
  );
}

/** The SPKI DER of the public half of a PKCS#8 P-256 private key. */
async function publicSpkiOfPkcs8(pkcs8, algorithm) {
  const ecdh = algorithm === "ECDH";
  const params = { name: algorithm, namedCurve: "P-256" };
  const key = await subtle.importKey("pkcs8", pkcs8, params, true, [ecdh ? "deriveBits" : "sign"]);
  const { kty, crv, x, y } = await subtle.exportKey("jwk", key);
  const pub = await subtle.importKey("jwk", { kty, crv, x, y }, params, true, ecdh ? [] : ["verify"]);
  return new Uint8Array(await subtle.exportKey("spki", pub));
}

async function ephemeralKeyPair(injectedPkcs8) {
  if (injectedPkcs8) {
    const pkcs8 = asBytes(injectedPkcs8, "ephemeral key");
    return { privateKey: await importEcdhPrivate(pkcs8), spki: await publicSpkiOfPkcs8(pkcs8, "ECDH") };
  }
  const pair = await subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
  return {
    privateKey: pair.privateKey,
    spki: new Uint8Array(await subtle.exportKey("spki", pair.publicKey)),
  };
}

async function wrapKek(privateKey, publicKey, epk) {
  const shared = new Uint8Array(
    await subtle.deriveBits({ name: "ECDH", public: publicKey }, privateKey, 256),
  );
  return hkdf(shared, epk, "SBE1 wrap");
}

async function recipientFor({ kid, recipientSpki, secret, ephemeralPkcs8, iv }) {
  const recipientKey = await importEcdhPublic(recipientSpki);
  const eph = await ephemeralKeyPair(ephemeralPkcs8);
  const kek = await aesKey(await wrapKek(eph.privateKey, recipientKey, eph.spki), ["encrypt"]);
  const wrapIv = iv ? asBytes(iv, "iv") : crypto.getRandomValues(new Uint8Array(12));
  const wrapped = new Uint8Array(
    await subtle.encrypt({ name: "AES-GCM", iv: wrapIv, additionalData: utf8(kid) }, kek, secret),
  );
  return { kid, epk: b64urlEncode(eph.spki), iv: b64urlEncode(wrapIv), wrapped: b64urlEncode(wrapped) };
}

// ---------- reading ----------

async function readBytes(blob, start, end) {
  return new Uint8Array(await blob.slice(start, end).arrayBuffer());
}

function requireString(header, field) {
  if (typeof header[field] !== "string" || header[field] === "") {
    throw new EnvelopeError(`header field "${field}" is missing or not a string`);
  }
}

function checkHeader(header) {
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new EnvelopeError("header is not a JSON object");
  }
  if (header.v !== 1) throw new EnvelopeError("unsupported envelope version");
  if (header.suite !== SUITE) throw new EnvelopeError("unsupported cipher suite");
  for (const f of ["section", "bidder", "opening_kid", "bidder_kid"]) requireString(header, f);
  const cs = header.chunk_size;
  if (!Number.isInteger(cs) || cs < MIN_CHUNK_SIZE || cs > MAX_CHUNK_SIZE) {
    throw new EnvelopeError("header chunk_size is out of range");
  }
  const r = header.recipients;
  if (!Array.isArray(r) || r.length !== 2) throw new EnvelopeError("header must hold exactly two recipients");
  for (const rec of r) {
    if (rec === null || typeof rec !== "object") throw new EnvelopeError("bad recipient");
    for (const f of ["kid", "epk", "iv", "wrapped"]) requireString(rec, f);
  }
  if (r[0].kid !== header.opening_kid) throw new EnvelopeError("first recipient is not the opening key");
  if (r[1].kid !== header.bidder_kid) throw new EnvelopeError("second recipient is not the bidder key");
}

/** Read and check the magic and header; returns {header, headerBytes, bodyOffset}. */
export async function parseHeader(blob) {
  if (blob.size < 8) throw new EnvelopeError("file is too short to be an SBE1 envelope");
  const head = await readBytes(blob, 0, 8);
  if (!MAGIC.every((b, i) => head[i] === b)) throw new EnvelopeError("not an SBE1 envelope (bad magic)");
  const length = new DataView(head.buffer).getUint32(4, false);
  if (length === 0 || length > MAX_HEADER_BYTES) throw new EnvelopeError("header length is out of range");
  if (8 + length > blob.size) throw new EnvelopeError("envelope is truncated inside the header");
  const headerBytes = await readBytes(blob, 8, 8 + length);
  let header;
  try {
    header = JSON.parse(strictDecoder.decode(headerBytes));
  } catch {
    throw new EnvelopeError("header is not UTF-8 JSON");
  }
  checkHeader(header);
  return { header, headerBytes, bodyOffset: 8 + length };
}

async function unwrapRecipient(blob, index, privateKey) {
  const { header } = await parseHeader(blob);
  const rec = header.recipients[index];
  const epk = b64urlDecode(rec.epk);
  let ephemeral;
  try {
    ephemeral = await importEcdhPublic(epk);
  } catch {
    throw new EnvelopeError("recipient epk is not a P-256 public key");
  }
  const kek = await aesKey(await wrapKek(await importEcdhPrivate(privateKey), ephemeral, epk), ["decrypt"]);
  try {
    const secret = await subtle.decrypt(
      { name: "AES-GCM", iv: b64urlDecode(rec.iv), additionalData: utf8(rec.kid) },
      kek,
      b64urlDecode(rec.wrapped),
    );
    return new Uint8Array(secret);
  } catch {
    throw new EnvelopeError(
      `key ${rec.kid.slice(0, 16)}… cannot be unwrapped: wrong private key or damaged envelope`,
    );
  }
}

/** K2: unwrapped by the bidder's ECDH private key (CryptoKey or PKCS#8 bytes). */
export function unwrapK2(envelopeBlob, bidderEncPrivateKey) {
  return unwrapRecipient(envelopeBlob, 1, bidderEncPrivateKey);
}

/** K1: unwrapped by the section's opening private key (used by tests and tools). */
export function unwrapK1(envelopeBlob, openingPrivateKey) {
  return unwrapRecipient(envelopeBlob, 0, openingPrivateKey);
}

// ---------- sealing ----------

function progress(onProgress, phase, done, total) {
  if (onProgress) onProgress({ phase, done, total });
}

const PRICE = /^(0|[1-9][0-9]{0,12})(\.[0-9]{1,2})?$/; // fits DecimalField(15, 2), as in bidding/envelope/checks.py

function checkSummary(summary) {
  if (summary === null || typeof summary !== "object" || Array.isArray(summary)) {
    throw new EnvelopeError("summary must be an object");
  }
  if (typeof summary.price !== "string" || !PRICE.test(summary.price)) {
    throw new EnvelopeError("price must be a decimal string with at most 2 decimals");
  }
  if (typeof summary.currency !== "string" || !/^[A-Z]{3}$/.test(summary.currency)) {
    throw new EnvelopeError("currency must be a three-letter code such as CNY");
  }
}

function randomBytes(n) {
  return crypto.getRandomValues(new Uint8Array(n));
}

/**
 * The sealed envelope as a plan (pass 1 done): its exact size and any byte range on demand.
 * Frames are AES-GCM with fixed keys and nonces, so encrypting a frame again gives the same
 * bytes: a chunk lost in upload is rebuilt from the file, and nothing is held but the prefix
 * (magic, header, summary frame) and the last frame encrypted.
 */
export class SealedEnvelope {
  constructor({ file, prefix, chunkSize, documentsKey, aad, frames }) {
    this.file = file;
    this.prefix = prefix;
    this.chunkSize = chunkSize;
    this.documentsKey = documentsKey;
    this.aad = aad;
    this.frames = frames;
    this.frameBytes = 4 + chunkSize + TAG_BYTES;
    this.size = prefix.length + frames * (4 + TAG_BYTES) + file.size;
    this.cached = null; // {index, pieces}: frames straddle upload chunks, so each is asked for twice
    this.ahead = null; // {index, promise}: the next frame's plaintext, read ahead
  }

  plaintext(index) {
    if (this.ahead && this.ahead.index === index) {
      const { promise } = this.ahead;
      this.ahead = null;
      return promise;
    }
    const start = index * this.chunkSize;
    return readBytes(this.file, start, Math.min(start + this.chunkSize, this.file.size));
  }

  async frame(index) {
    if (this.cached && this.cached.index === index) return this.cached;
    const start = index * this.chunkSize;
    const end = Math.min(start + this.chunkSize, this.file.size);
    const plain = await this.plaintext(index);
    if (index + 1 < this.frames) {
      // Read the next frame's plaintext while this one is encrypted (in order, the usual case).
      const promise = readBytes(this.file, end, Math.min(end + this.chunkSize, this.file.size));
      promise.catch(() => {}); // a failure shows when the frame is asked for
      this.ahead = { index: index + 1, promise };
    }
    if (plain.length !== end - start) throw new EnvelopeError("the file changed while it was being sealed");
    const last = index === this.frames - 1;
    const ct = new Uint8Array(
      await subtle.encrypt(
        { name: "AES-GCM", iv: frameNonce(PART_DOCUMENTS, index, last), additionalData: this.aad },
        this.documentsKey,
        plain,
      ),
    );
    // The frame is uint32 L ‖ ct; kept as two pieces so that read() copies ct once, into its output.
    const frame = { index, pieces: [uint32be(ct.length), ct] };
    this.cached = frame;
    return frame;
  }

  /** Envelope bytes [start, end). */
  async read(start, end) {
    end = Math.min(end, this.size);
    const out = new Uint8Array(Math.max(0, end - start));
    let at = start;
    if (at < this.prefix.length) {
      const piece = this.prefix.subarray(at, Math.min(end, this.prefix.length));
      out.set(piece, 0);
      at += piece.length;
    }
    while (at < end) {
      const rel = at - this.prefix.length;
      const index = Math.floor(rel / this.frameBytes);
      let from = rel - index * this.frameBytes; // offset inside the frame
      for (const bytes of (await this.frame(index)).pieces) {
        if (from >= bytes.length) {
          from -= bytes.length;
          continue;
        }
        const piece = bytes.subarray(from, Math.min(bytes.length, from + end - at));
        out.set(piece, at - start);
        at += piece.length;
        from = 0;
        if (at >= end) break;
      }
    }
    return out;
  }
}

/**
 * Pass 1 of sealing (DESIGN.md §5.2 puts the documents' SHA-256 in the summary, which comes
 * before the documents): hash the file, build the header and the summary frame.
 * Returns a SealedEnvelope; pass 2 is reading it in order (and hashing what is read).
 */
export async function sealPlan({
  file,
  summary,
  section,
  bidder,
  openingPublicKeySpki,
  bidderEncPublicKeySpki,
  chunkSize = 1 << 20,
  documentName,
  onProgress,
  inject = {},
  hasher,
}) {
  if (!(file instanceof Blob)) throw new EnvelopeError("file must be a Blob or File");
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new EnvelopeError("chunk size must be between 65536 and 4194304 bytes");
  }
  if (typeof section !== "string" || !section) throw new EnvelopeError("section id is required");
  if (typeof bidder !== "string" || !bidder) throw new EnvelopeError("bidder id is required");
  checkSummary(summary);
  const openingSpki = asBytes(openingPublicKeySpki, "opening public key");
  const bidderSpki = asBytes(bidderEncPublicKeySpki, "bidder public key");
  const size = file.size;

  const name = documentName ?? (typeof file.name === "string" && file.name ? file.name : "documents");
  const ownHasher = !hasher;
  const h = hasher || (await createSha256());
  let documentsSha;
  try {
    progress(onProgress, "hash", 0, size);
    documentsSha = await h.hashBlob(file, { onProgress: (done) => progress(onProgress, "hash", done, size) });
  } finally {
    if (ownHasher) h.close();
  }
  const fullSummary = { ...summary, documents: { name, size, sha256: toHex(documentsSha) } };
  const summaryBytes = jsonBytes(fullSummary);
  if (summaryBytes.length > MAX_SUMMARY_BYTES) throw new EnvelopeError("summary is larger than 64 KiB");

  const k1 = inject.k1 ? asBytes(inject.k1, "k1") : randomBytes(32);
  const k2 = inject.k2 ? asBytes(inject.k2, "k2") : randomBytes(32);
  const openingKid = kidOf(openingSpki);
  const bidderKid = kidOf(bidderSpki);
  const recipients = [
    await recipientFor({
      kid: openingKid,
      recipientSpki: openingSpki,
      secret: k1,
      ephemeralPkcs8: inject.ephemeral1,
      iv: inject.iv1,
    }),
    await recipientFor({
      kid: bidderKid,
      recipientSpki: bidderSpki,
      secret: k2,
      ephemeralPkcs8: inject.ephemeral2,
      iv: inject.iv2,
    }),
  ];
  const header = {
    v: 1,
    suite: SUITE,
    section,
    bidder,
    opening_kid: openingKid,
    bidder_kid: bidderKid,
    chunk_size: chunkSize,
    recipients,
  };
  const headerBytes = jsonBytes(header);
  if (headerBytes.length > MAX_HEADER_BYTES) throw new EnvelopeError("section or bidder id is too long");
  const aad = await sha256Once(headerBytes);
  const keys = await partKeys(k1, k2);
  const summaryCt = new Uint8Array(
    await subtle.encrypt(
      { name: "AES-GCM", iv: frameNonce(PART_SUMMARY, 0, true), additionalData: aad },
      keys.summary,
      summaryBytes,
    ),
  );
  const prefix = concatBytes(MAGIC, uint32be(headerBytes.length), headerBytes, uint32be(summaryCt.length), summaryCt);
  return new SealedEnvelope({
    file,
    prefix,
    chunkSize,
    documentsKey: keys.documents,
    aad,
    frames: Math.max(1, Math.ceil(size / chunkSize)),
  });
}

/**
 * Seal `file` (a Blob or File) for a section. Returns {blob, digest, size}:
 * the envelope, its SHA-256 (sign it with signDigest) and its length.
 * The bid page does not collect the envelope: it uploads sealPlan()'s bytes as they are made.
 */
export async function seal({ onProgress, hasher, readSize = 8 << 20, ...options }) {
  const h = hasher || (await createSha256());
  try {
    const sealed = await sealPlan({ ...options, onProgress, hasher: h });
    const parts = [];
    for (let at = 0; at < sealed.size; at += readSize) {
      const bytes = await sealed.read(at, at + readSize);
      await h.update(bytes);
      parts.push(new Blob([bytes]));
      progress(onProgress, "encrypt", Math.min(at + readSize, sealed.size), sealed.size);
    }
    return {
      blob: new Blob(parts, { type: "application/octet-stream" }),
      digest: await h.digest(),
      size: sealed.size,
    };
  } finally {
    if (!hasher) h.close();
  }
}

// ---------- signatures ----------

function derInteger(bytes) {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  let body = bytes.subarray(i);
  if (body[0] & 0x80) body = concatBytes(new Uint8Array([0]), body);
  return concatBytes(new Uint8Array([0x02, body.length]), body);
}

/** IEEE-P1363 r‖s (what WebCrypto returns) to a DER ECDSA-Sig-Value. */
export function p1363ToDer(sig) {
  const half = sig.length / 2;
  const body = concatBytes(derInteger(sig.subarray(0, half)), derInteger(sig.subarray(half)));
  return concatBytes(new Uint8Array([0x30, body.length]), body);
}

/** A DER ECDSA-Sig-Value to 64-byte r‖s for P-256. */
export function derToP1363(der) {
  const bad = () => new EnvelopeError("signature is not a DER ECDSA signature");
  if (der[0] !== 0x30 || der[1] !== der.length - 2) throw bad();
  const out = new Uint8Array(64);
  let at = 2;
  for (const offset of [0, 32]) {
    if (der[at] !== 0x02) throw bad();
    const len = der[at + 1];
    let int = der.subarray(at + 2, at + 2 + len);
    if (int.length !== len) throw bad();
    while (int.length > 32 && int[0] === 0) int = int.subarray(1);
    if (int.length > 32) throw bad();
    out.set(int, offset + 32 - int.length);
    at += 2 + len;
  }
  if (at !== der.length) throw bad();
  return out;
}

/** 投标签名 (bid signature): ECDSA-P256-SHA256 over the 32 digest bytes, DER-encoded. */
export async function signDigest(digest, signPrivateKey) {
  let key = signPrivateKey;
  if (!(key instanceof CryptoKey)) {
    key = await subtle.importKey(
      "pkcs8",
      asBytes(key, "signing key"),
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["sign"],
    );
  }
  const sig = await subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, asBytes(digest, "digest"));
  return p1363ToDer(new Uint8Array(sig));
}

export async function verifyDigestSignature(digest, derSignature, signPublicKeySpki) {
  const key = await subtle.importKey(
    "spki",
    asBytes(signPublicKeySpki, "public key"),
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["verify"],
  );
  return subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    key,
    derToP1363(asBytes(derSignature, "signature")),
    digest,
  );
}

// ---------- opening ----------

async function readFrame(blob, offset, maxCiphertext, what) {
  if (offset + 4 > blob.size) throw new EnvelopeError(`envelope is truncated before the ${what}`);
  const length = new DataView((await readBytes(blob, offset, offset + 4)).buffer).getUint32(0, false);
  if (length < TAG_BYTES || length > maxCiphertext) throw new EnvelopeError(`${what} has a bad length`);
  const end = offset + 4 + length;
  if (end > blob.size) throw new EnvelopeError(`envelope is truncated inside the ${what}`);
  return { ciphertext: await readBytes(blob, offset + 4, end), end };
}

async function tryDecrypt(key, nonce, aad, ciphertext) {
  try {
    return new Uint8Array(
      await subtle.decrypt({ name: "AES-GCM", iv: nonce, additionalData: aad }, key, ciphertext),
    );
  } catch {
    return null;
  }
}

/** Decrypt one frame, telling a misplaced last flag (truncation, appended data) from damage. */
async function openFrame(key, part, index, atEnd, aad, ciphertext, what) {
  const plain = await tryDecrypt(key, frameNonce(part, index, atEnd), aad, ciphertext);
  if (plain) return plain;
  if (await tryDecrypt(key, frameNonce(part, index, !atEnd), aad, ciphertext)) {
    throw new EnvelopeError(
      atEnd ? "envelope is truncated: its final frame is missing" : `data follows the final frame (${what})`,
    );
  }
  throw new EnvelopeError(`${what} failed to authenticate: wrong keys, or the envelope was altered`);
}

/**
 * Open an envelope with K1 and K2: authenticates every frame and checks the
 * documents against the summary. Returns {header, summary, documents: Blob}.
 */
export async function openEnvelope(blob, { k1, k2 }) {
  const { header, headerBytes, bodyOffset } = await parseHeader(blob);
  const aad = await sha256Once(headerBytes);
  const keys = await partKeys(asBytes(k1, "k1"), asBytes(k2, "k2"));

  const s = await readFrame(blob, bodyOffset, MAX_SUMMARY_BYTES + TAG_BYTES, "summary frame");
  const summaryBytes = await tryDecrypt(keys.summary, frameNonce(PART_SUMMARY, 0, true), aad, s.ciphertext);
  if (!summaryBytes)
    throw new EnvelopeError("summary frame failed to authenticate: wrong K1/K2, or the envelope was altered");
  let summary;
  try {
    summary = JSON.parse(strictDecoder.decode(summaryBytes));
  } catch {
    throw new EnvelopeError("summary is not UTF-8 JSON");
  }
  const expected = summary && summary.documents;
  if (!expected || !Number.isInteger(expected.size) || typeof expected.sha256 !== "string") {
    throw new EnvelopeError("summary has no documents {name, size, sha256}");
  }

  const chunkSize = header.chunk_size;
  const parts = [];
  const hash = sha256.create();
  let size = 0;
  let offset = s.end;
  for (let index = 0; ; index++) {
    const what = `documents frame ${index}`;
    const f = await readFrame(blob, offset, chunkSize + TAG_BYTES, what);
    const atEnd = f.end === blob.size;
    const plain = await openFrame(keys.documents, PART_DOCUMENTS, index, atEnd, aad, f.ciphertext, what);
    if (!atEnd && plain.length !== chunkSize) throw new EnvelopeError(`${what} is short but not the last`);
    parts.push(new Blob([plain]));
    hash.update(plain);
    size += plain.length;
    offset = f.end;
    if (atEnd) break;
  }
  if (size !== expected.size || toHex(hash.digest()) !== expected.sha256.toLowerCase()) {
    throw new EnvelopeError("documents do not match the size and SHA-256 in the summary");
  }
  return { header, summary, documents: new Blob(parts, { type: "application/octet-stream" }) };
}
