// Bundle only the streaming SHA-256 from @noble/hashes.
export { sha256 } from '@noble/hashes/sha2.js';
