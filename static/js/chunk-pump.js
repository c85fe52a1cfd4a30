// Pass 2 of a bid upload (docs/decisions/0026-browser-hashing.md): build the envelope's upload
// chunks in index order (so the envelope SHA-256 sees every byte once, in order) and PUT up to
// `limit` of them at once. A chunk is held only while its PUT runs; one that fails is built again.

export const MIN_PARALLEL = 2;
export const MAX_PARALLEL = 6;

/**
 * How many PUTs run at once: additive increase after a round of successes, halved on a failure
 * (AIMD, as TCP does), always within [MIN_PARALLEL, MAX_PARALLEL].
 */
export class ParallelLimit {
  constructor(start = 3) {
    this.limit = start;
    this.streak = 0;
  }

  success() {
    this.streak += 1;
    if (this.streak >= this.limit && this.limit < MAX_PARALLEL) {
      this.limit += 1;
      this.streak = 0;
    }
  }

  failure() {
    this.streak = 0;
    this.limit = Math.max(MIN_PARALLEL, Math.ceil(this.limit / 2));
  }
}

/**
 * Of two failures in one round, the one the caller must act on: one that is not retryable, else the
 * one whose server asked to wait longer (a 503's Retry-After beside a dropped connection's nothing).
 */
function graver(a, b) {
  if (!a) return b;
  if (!b) return a;
  if (!a.retryable) return a;
  if (!b.retryable) return b;
  return (b.retryAfterMs || 0) > (a.retryAfterMs || 0) ? b : a;
}

/**
 * Send every chunk the server lacks and hash every chunk not yet hashed.
 * job: {count, received: Set, hashed: number of leading chunks hashed, parallel: ParallelLimit,
 *       read(i) → Promise<Uint8Array>, pack(bytes) → what send needs (copied out of bytes at once),
 *       hash(bytes) → Promise (may take the bytes: they are not used after it), send(i, packed) → Promise,
 *       onSent(i)}.
 * After the first failed PUT no new chunk starts; the ones running settle, then the gravest error is thrown
 * (the caller backs off and calls again: only what is still missing is built and sent).
 */
export async function chunksPump(job) {
  const running = new Set();
  let error = null;
  const launch = (index, packed) => {
    const put = job
      .send(index, packed)
      .then(
        () => {
          job.received.add(index);
          job.parallel.success();
          if (job.onSent) job.onSent(index);
        },
        (err) => {
          error = graver(error, err);
          job.parallel.failure();
        },
      )
      .finally(() => running.delete(put));
    running.add(put);
  };
  for (let index = 0; index < job.count && !error; index++) {
    const mustHash = index >= job.hashed;
    const mustSend = !job.received.has(index);
    if (!mustHash && !mustSend) continue;
    if (mustSend) {
      while (running.size >= job.parallel.limit && !error) await Promise.race(running);
      if (error) break;
    }
    let bytes;
    try {
      bytes = await job.read(index);
    } catch (err) {
      error = graver(error, err); // the file changed or cannot be read: not retryable, but let the PUTs settle
      break;
    }
    // Packed first: the hash may take (transfer) the bytes, and nothing keeps them after that.
    const packed = mustSend ? job.pack(bytes) : null;
    if (mustHash) {
      await job.hash(bytes); // waits while the hash lags behind: memory stays at a few chunks
      job.hashed = index + 1;
    }
    if (mustSend) launch(index, packed);
  }
  await Promise.allSettled([...running]);
  if (error) throw error;
}
