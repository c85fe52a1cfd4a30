// Bidder keys in the browser (DESIGN.md §5.1): an ECDH key to receive K2 and an
// ECDSA key to sign bids, both P-256. The private keys never leave the machine
// except inside the passphrase-protected backup file (密钥备份文件).
import { b64encode, b64urlDecode, b64urlEncode, kidOf, utf8 } from "./sbe1.js";

const subtle = globalThis.crypto.subtle;
export const BACKUP_FORMAT = "sbe1-key-backup";
export const BACKUP_ITERATIONS = 600000;
const MAX_ITERATIONS = 10000000;
const DB_NAME = "sbe1-bidder-keys";
const STORE = "keysets";

const ALGORITHMS = {
  enc: { name: "ECDH", namedCurve: "P-256" },
  sign: { name: "ECDSA", namedCurve: "P-256" },
};
const PRIVATE_USAGES = { enc: ["deriveBits"], sign: ["sign"] };
const PUBLIC_USAGES = { enc: [], sign: ["verify"] };

/** A backup or key-store failure; `message` is meant for the user. */
export class KeyStoreError extends Error {
  constructor(message) {
    super(message);
    this.name = "KeyStoreError";
  }
}

/** Two fresh extractable key pairs, {enc, sign}; extractable only until the backup is written. */
export async function generateBidderKeys() {
  const enc = await subtle.generateKey(ALGORITHMS.enc, true, PRIVATE_USAGES.enc);
  const sign = await subtle.generateKey(ALGORITHMS.sign, true, [
    ...PRIVATE_USAGES.sign,
    ...PUBLIC_USAGES.sign,
  ]);
  return { enc, sign };
}

async function backupKey(passphrase, salt, iterations) {
  if (typeof passphrase !== "string" || passphrase.length === 0)
    throw new KeyStoreError("a passphrase is required");
  const base = await subtle.importKey("raw", utf8(passphrase), "PBKDF2", false, ["deriveKey"]);
  return subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

function backupAad(use, kid) {
  return utf8(`sbe1-key-backup:${use}:${kid}`);
}

/**
 * The backup object (JSON-ready) for {enc, sign} key pairs whose private keys
 * are extractable. Write it out before anything else happens to the keys.
 */
export async function backupCreate({ keys, passphrase, organization, iterations = BACKUP_ITERATIONS }) {
  if (iterations < BACKUP_ITERATIONS)
    throw new KeyStoreError(`PBKDF2 needs at least ${BACKUP_ITERATIONS} iterations`);
  if (typeof organization !== "string" || !organization)
    throw new KeyStoreError("the organization's credit code is required");
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const aes = await backupKey(passphrase, salt, iterations);
  const entries = [];
  for (const use of ["enc", "sign"]) {
    const spki = new Uint8Array(await subtle.exportKey("spki", keys[use].publicKey));
    const pkcs8 = new Uint8Array(await subtle.exportKey("pkcs8", keys[use].privateKey));
    const kid = kidOf(spki);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = await subtle.encrypt({ name: "AES-GCM", iv, additionalData: backupAad(use, kid) }, aes, pkcs8);
    entries.push({
      use,
      kid,
      public_key: b64urlEncode(spki),
      iv: b64urlEncode(iv),
      ciphertext: b64urlEncode(new Uint8Array(ct)),
    });
  }
  return {
    format: BACKUP_FORMAT,
    v: 1,
    organization,
    kdf: { name: "PBKDF2-SHA256", iterations, salt: b64urlEncode(salt) },
    keys: entries,
  };
}

/** The backup as a downloadable JSON Blob and a file name for it. */
export function backupFile(backup) {
  const text = JSON.stringify(backup, null, 2) + "\n";
  const name = `sbe1-keys-${backup.organization}-${backup.keys[0].kid.slice(0, 8)}.json`;
  return { blob: new Blob([text], { type: "application/json" }), name };
}

/** Offer the backup file to the user as a download (needs a document). */
export function backupDownload(backup) {
  const { blob, name } = backupFile(backup);
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return name;
}

function parseBackup(source) {
  let backup = source;
  if (typeof source === "string") {
    try {
      backup = JSON.parse(source);
    } catch {
      throw new KeyStoreError("the backup file is not JSON");
    }
  }
  const bad = (why) => new KeyStoreError(`not an SBE1 key backup: ${why}`);
  if (!backup || backup.format !== BACKUP_FORMAT) throw bad("wrong format");
  if (backup.v !== 1) throw bad("unsupported version");
  const kdf = backup.kdf || {};
  if (kdf.name !== "PBKDF2-SHA256") throw bad("unsupported key derivation");
  if (
    !Number.isInteger(kdf.iterations) ||
    kdf.iterations < BACKUP_ITERATIONS ||
    kdf.iterations > MAX_ITERATIONS
  ) {
    throw bad("PBKDF2 iterations out of range");
  }
  if (!Array.isArray(backup.keys)) throw bad("no keys");
  for (const use of ["enc", "sign"]) {
    if (backup.keys.filter((k) => k && k.use === use).length !== 1)
      throw bad(`needs exactly one "${use}" key`);
  }
  return backup;
}

async function readBackupText(file) {
  if (typeof file === "string" || (file && typeof file === "object" && !(file instanceof Blob))) return file;
  return file.text();
}

/** Check the public key matches the decrypted private key, so a mixed-up backup is refused. */
async function sameKeyPair(use, pkcs8, spki) {
  const priv = await subtle.importKey("pkcs8", pkcs8, ALGORITHMS[use], true, PRIVATE_USAGES[use]);
  const pub = await subtle.importKey("spki", spki, ALGORITHMS[use], true, PUBLIC_USAGES[use]);
  const a = await subtle.exportKey("jwk", priv);
  const b = await subtle.exportKey("jwk", pub);
  return a.x === b.x && a.y === b.y;
}

/**
 * Decrypt a backup (File, Blob, JSON text or object). Returns
 * {organization, enc: {kid, spki, pkcs8}, sign: {...}}. A wrong passphrase
 * raises KeyStoreError("wrong passphrase…").
 */
export async function backupRead(file, passphrase) {
  const backup = parseBackup(await readBackupText(file));
  let salt;
  try {
    salt = b64urlDecode(backup.kdf.salt);
  } catch {
    throw new KeyStoreError("not an SBE1 key backup: bad salt");
  }
  const aes = await backupKey(passphrase, salt, backup.kdf.iterations);
  const out = { organization: backup.organization };
  for (const use of ["enc", "sign"]) {
    const entry = backup.keys.find((k) => k.use === use);
    let spki, iv, ct;
    try {
      spki = b64urlDecode(entry.public_key);
      iv = b64urlDecode(entry.iv);
      ct = b64urlDecode(entry.ciphertext);
    } catch {
      throw new KeyStoreError(`not an SBE1 key backup: bad base64url in the "${use}" key`);
    }
    const kid = kidOf(spki);
    if (kid !== entry.kid) throw new KeyStoreError(`the "${use}" key's kid does not match its public key`);
    let pkcs8;
    try {
      pkcs8 = new Uint8Array(
        await subtle.decrypt({ name: "AES-GCM", iv, additionalData: backupAad(use, kid) }, aes, ct),
      );
    } catch {
      throw new KeyStoreError("wrong passphrase, or the backup file is damaged");
    }
    if (!(await sameKeyPair(use, pkcs8, spki))) {
      throw new KeyStoreError(`the "${use}" private key does not match its public key`);
    }
    out[use] = { kid, spki, pkcs8 };
  }
  return out;
}

// ---------- IndexedDB ----------

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "id" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new KeyStoreError(`cannot open the browser key store: ${req.error}`));
  });
}

async function withStore(mode, action) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = action(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(new KeyStoreError(`browser key store failed: ${tx.error}`));
      tx.onabort = () => reject(new KeyStoreError(`browser key store failed: ${tx.error}`));
    });
  } finally {
    db.close();
  }
}

function nonExtractable(use, pkcs8) {
  return subtle.importKey("pkcs8", pkcs8, ALGORITHMS[use], false, PRIVATE_USAGES[use]);
}

/** Store a key set read from a backup, with non-extractable private keys. Returns its record. */
export async function keysetStore({ organization, enc, sign }) {
  const record = { id: enc.kid, organization, created: new Date().toISOString() };
  for (const [use, key] of [
    ["enc", enc],
    ["sign", sign],
  ]) {
    record[use] = { kid: key.kid, spki: key.spki, privateKey: await nonExtractable(use, key.pkcs8) };
  }
  await withStore("readwrite", (store) => store.put(record));
  return record;
}

/** Every stored key set: {id, organization, created, enc: {kid, spki, privateKey}, sign: {...}}. */
export function keysetList() {
  return withStore("readonly", (store) => store.getAll());
}

export function keysetGet(id) {
  return withStore("readonly", (store) => store.get(id));
}

export function keysetDelete(id) {
  return withStore("readwrite", (store) => store.delete(id));
}

/** The body for POST /api/v1/bidder-keys: both public keys as standard base64 SPKI DER. */
export function bidderKeysPayload(keyset) {
  return { enc_public_key: b64encode(keyset.enc.spki), sign_public_key: b64encode(keyset.sign.spki) };
}

/**
 * The whole enrolment: generate both key pairs, write the backup file first,
 * then keep non-extractable copies in IndexedDB. Pass download=false to get
 * the backup back without offering a download (the caller saves it).
 */
export async function bidderKeysCreate({ organization, passphrase, download = true }) {
  const keys = await generateBidderKeys();
  const backup = await backupCreate({ keys, passphrase, organization });
  if (download) backupDownload(backup);
  const decoded = { organization };
  for (const use of ["enc", "sign"]) {
    const spki = new Uint8Array(await subtle.exportKey("spki", keys[use].publicKey));
    const pkcs8 = new Uint8Array(await subtle.exportKey("pkcs8", keys[use].privateKey));
    decoded[use] = { kid: kidOf(spki), spki, pkcs8 };
  }
  const keyset = await keysetStore(decoded);
  decoded.enc.pkcs8.fill(0);
  decoded.sign.pkcs8.fill(0);
  return { keyset, backup, payload: bidderKeysPayload(keyset) };
}

/** Import a backup file into this browser's key store. */
export async function backupImport(file, passphrase) {
  return keysetStore(await backupRead(file, passphrase));
}

// ---------- staff signing keys (ADR 0032) ----------

const STAFF_DB = "sbe1-staff-keys";

function openStaffDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(STAFF_DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore("keys", { keyPath: "id" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new KeyStoreError(`cannot open the browser key store: ${req.error}`));
  });
}

async function staffStore(mode, action) {
  const db = await openStaffDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction("keys", mode);
      const req = action(tx.objectStore("keys"));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(new KeyStoreError(`browser key store failed: ${tx.error}`));
    });
  } finally {
    db.close();
  }
}

/**
 * A host's or supervisor's P-256 signing key in this browser: made on first use with a
 * non-extractable private key; {privateKey, spki, created} where created says it is new.
 */
export async function staffKeyGetOrCreate(userId) {
  const id = `staff:${userId}`;
  const found = await staffStore("readonly", (store) => store.get(id));
  if (found) return { privateKey: found.privateKey, spki: found.spki, created: false };
  const pair = await subtle.generateKey(ALGORITHMS.sign, false, ["sign", "verify"]);
  const spki = new Uint8Array(await subtle.exportKey("spki", pair.publicKey));
  await staffStore("readwrite", (store) => store.put({ id, privateKey: pair.privateKey, spki }));
  return { privateKey: pair.privateKey, spki, created: true };
}
