// Test-only glue: exposes window.H, whose functions take and return JSON-ready
// values (bytes as standard base64) so that Playwright can drive the modules.
import * as sbe1 from "/static/js/sbe1.js";
import * as keystore from "/static/js/keystore.js";
import { createSha256 } from "/static/js/sha256-stream.js";
import { ParallelLimit, chunksPump } from "/static/js/chunk-pump.js";

const { b64encode: enc, b64decode: dec } = sbe1;
const subtle = crypto.subtle;

function randomBlob(size) {
  const parts = [];
  for (let at = 0; at < size; at += 65536) {
    parts.push(crypto.getRandomValues(new Uint8Array(Math.min(65536, size - at))));
  }
  return new Blob(parts);
}

async function blobB64(blob) {
  return enc(new Uint8Array(await blob.arrayBuffer()));
}

async function pkcs8Of(key) {
  return enc(new Uint8Array(await subtle.exportKey("pkcs8", key)));
}

async function spkiOf(key) {
  return enc(new Uint8Array(await subtle.exportKey("spki", key)));
}

function injected(inject) {
  if (!inject) return {};
  const out = {};
  for (const [k, v] of Object.entries(inject)) out[k] = dec(v);
  return out;
}

/** Return the error as a value, so the test can assert on its class and message. */
async function caught(fn) {
  try {
    return { ok: await fn() };
  } catch (e) {
    return { error: `${e.name}: ${e.message}` };
  }
}

window.H = {
  kidOf: (spki) => sbe1.kidOf(dec(spki)),

  /** Seal with the given hasher ("wasm" or "js"); `kind` says which one really ran. */
  async seal({ documents, name, summary, section, bidder, opening_spki, bidder_spki, chunk_size, inject, hasher }) {
    const file = new File([dec(documents)], name);
    const h = await createSha256({ prefer: hasher || "wasm" });
    const r = await sbe1.seal({
      file,
      summary,
      section,
      bidder,
      openingPublicKeySpki: dec(opening_spki),
      bidderEncPublicKeySpki: dec(bidder_spki),
      chunkSize: chunk_size,
      inject: injected(inject),
      hasher: h,
    });
    h.close();
    return { envelope: await blobB64(r.blob), digest: sbe1.toHex(r.digest), size: r.size, kind: h.kind };
  },

  /** Pass 1 as the bid page runs it, then the envelope read back in the given order of ranges. */
  async sealReadRanges({ documents, name, summary, section, bidder, opening_spki, bidder_spki, chunk_size, inject, range_size, order }) {
    const sealed = await sbe1.sealPlan({
      file: new File([dec(documents)], name),
      summary,
      section,
      bidder,
      openingPublicKeySpki: dec(opening_spki),
      bidderEncPublicKeySpki: dec(bidder_spki),
      chunkSize: chunk_size,
      inject: injected(inject),
    });
    const out = new Uint8Array(sealed.size);
    for (const i of order) {
      const start = i * range_size;
      if (start < sealed.size) out.set(await sealed.read(start, start + range_size), start);
    }
    return { envelope: enc(out), size: sealed.size, ranges: Math.ceil(sealed.size / range_size) };
  },

  /**
   * chunksPump with a fake network: PUTs take `delay` ms, the listed chunks fail on the first run.
   * Returns the order chunks were hashed in, the most PUTs seen at once, and what each run did.
   */
  async pumpScenario({ count, fail, delay }) {
    const job = {
      count,
      received: new Set(),
      hashed: 0,
      parallel: new ParallelLimit(),
      hashedOrder: [],
      running: 0,
      most: 0,
      puts: [],
      read: async (i) => new Uint8Array([i]),
      pack: (bytes) => bytes[0],
      hash: async (bytes) => job.hashedOrder.push(bytes[0]),
      send: async (i, packed) => {
        if (packed !== i) throw new Error("packed bytes of another chunk");
        job.puts.push(i);
        job.running += 1;
        job.most = Math.max(job.most, job.running);
        await new Promise((r) => setTimeout(r, delay));
        job.running -= 1;
        if (fail.includes(i) && !job.failedOnce?.has(i)) {
          (job.failedOnce ??= new Set()).add(i);
          throw new Error(`chunk ${i} lost`);
        }
      },
    };
    const runs = [];
    for (let run = 0; run < 5 && job.received.size < count; run++) {
      const before = job.puts.length;
      try {
        await chunksPump(job);
        runs.push({ ok: true, puts: job.puts.slice(before) });
      } catch (e) {
        runs.push({ error: e.message, puts: job.puts.slice(before), limit: job.parallel.limit });
      }
    }
    return { hashed: job.hashedOrder, most: job.most, runs, received: [...job.received].sort((a, b) => a - b) };
  },

  /** One hasher fed in uneven pieces and over a Blob; returns both digests and the kind that ran. */
  async sha256Stream({ data, hasher, piece }) {
    const bytes = dec(data);
    const h = await createSha256({ prefer: hasher });
    try {
      for (let at = 0; at < bytes.length; at += piece) await h.update(bytes.subarray(at, at + piece));
      const fed = sbe1.toHex(await h.digest());
      const blob = sbe1.toHex(await h.hashBlob(new Blob([bytes])));
      const again = sbe1.toHex(await h.digest()); // empty input after a blob: the state was reset
      return { kind: h.kind, fed, blob, again };
    } finally {
      h.close();
    }
  },

  /** Seal random documents with fresh browser bidder keys, and sign the digest. */
  async sealRandom({ size, chunk_size, opening_spki, section, bidder, summary }) {
    const keys = await keystore.generateBidderKeys();
    const encSpki = new Uint8Array(await subtle.exportKey("spki", keys.enc.publicKey));
    const progress = [];
    const file = new File([randomBlob(size)], "bid.zip");
    const r = await sbe1.seal({
      file,
      summary,
      section,
      bidder,
      openingPublicKeySpki: dec(opening_spki),
      bidderEncPublicKeySpki: encSpki,
      chunkSize: chunk_size,
      onProgress: (p) => progress.push(p.phase),
    });
    const signature = await sbe1.signDigest(r.digest, keys.sign.privateKey);
    const k2 = await sbe1.unwrapK2(r.blob, keys.enc.privateKey);
    return {
      envelope: await blobB64(r.blob),
      digest: sbe1.toHex(r.digest),
      size: r.size,
      signature: enc(signature),
      documents: await blobB64(file),
      enc_pkcs8: await pkcs8Of(keys.enc.privateKey),
      enc_spki: enc(encSpki),
      sign_spki: await spkiOf(keys.sign.publicKey),
      k2: enc(k2),
      progress_phases: [...new Set(progress)],
    };
  },

  open: ({ envelope, k1, k2 }) =>
    caught(async () => {
      const r = await sbe1.openEnvelope(new Blob([dec(envelope)]), { k1: dec(k1), k2: dec(k2) });
      return { summary: r.summary, header: r.header, documents: await blobB64(r.documents) };
    }),

  unwrapK2: ({ envelope, pkcs8 }) =>
    caught(async () => enc(await sbe1.unwrapK2(new Blob([dec(envelope)]), dec(pkcs8)))),

  unwrapK1: ({ envelope, pkcs8 }) =>
    caught(async () => enc(await sbe1.unwrapK1(new Blob([dec(envelope)]), dec(pkcs8)))),

  verify: async ({ digest, signature, spki }) =>
    sbe1.verifyDigestSignature(sbe1.fromHex(digest), dec(signature), dec(spki)),

  /** Enrol as the page would, without the download, and return the backup text. */
  async enrol({ organization, passphrase }) {
    const r = await keystore.bidderKeysCreate({ organization, passphrase, download: false });
    const backup = await keystore.backupFile(r.backup).blob.text();
    return { backup, payload: r.payload, id: r.keyset.id };
  },

  /** Import a backup file, then prove the stored keys are usable and non-extractable. */
  importBackup: ({ backup, passphrase, digest }) =>
    caught(async () => {
      const record = await keystore.backupImport(new File([backup], "backup.json"), passphrase);
      const stored = await keystore.keysetGet(record.id);
      let extractable = true;
      try {
        await subtle.exportKey("pkcs8", stored.sign.privateKey);
      } catch {
        extractable = false;
      }
      const signature = await sbe1.signDigest(sbe1.fromHex(digest), stored.sign.privateKey);
      return {
        id: record.id,
        organization: stored.organization,
        enc_kid: stored.enc.kid,
        sign_kid: stored.sign.kid,
        payload: keystore.bidderKeysPayload(stored),
        extractable: extractable || stored.enc.privateKey.extractable || stored.sign.privateKey.extractable,
        signature: enc(signature),
      };
    }),

  listKeys: async () =>
    (await keystore.keysetList()).map((k) => ({ id: k.id, organization: k.organization })),
  deleteKeys: (id) => keystore.keysetDelete(id),
};

document.getElementById("status").textContent = "ready";
window.harnessReady = true;
