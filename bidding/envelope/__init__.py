"""SBE1 sealed bid envelope (密封投标文件): seal, inspect and open at constant memory.

The format is fixed by DESIGN.md §5.2. Points the design leaves open, settled here
and pinned by the vectors in tests/vectors/sbe1/:

- The header is compact JSON (no spaces) with keys in the order v, suite, section,
  bidder, opening_kid, bidder_kid, chunk_size, recipients; recipient keys in the order
  kid, epk, iv, wrapped. Readers accept any key order but no unknown or duplicate keys.
- The summary frame is the only frame of part 0, so its nonce is (0, 0, last=1).
- Documents whose size is a multiple of chunk_size end with a full frame carrying
  last=1 (no empty trailing frame); empty documents are one empty frame with last=1.
- An injected ``rng(n) -> bytes`` is drawn in this order: K1, K2, then for each
  recipient the ephemeral private scalar (redrawn while 0 or >= the group order) and IV.
"""

from bidding.envelope.checks import (  # noqa: F401
    _check_b64url,
    _check_recipient,
    _dump_json,
    _is_int,
    _parse_json_object,
    _reject_constant,
    _unique_object,
    check_header,
    check_summary,
    summary_price,
)
from bidding.envelope.format import (  # noqa: F401
    _CURRENCY,
    _KID,
    _MESSAGES,
    _PRICE,
    DEFAULT_CHUNK_SIZE,
    EPK_SIZE,
    HEADER_KEYS,
    MAGIC,
    MAX_CHUNK_SIZE,
    MAX_HEADER_SIZE,
    MAX_SUMMARY_SIZE,
    MIN_CHUNK_SIZE,
    P256_ORDER,
    RECIPIENT_KEYS,
    SUITE,
    TAG_SIZE,
    EnvelopeError,
    Inspection,
    SealResult,
)
from bidding.envelope.frames import (  # noqa: F401
    _document_frames,
    _read_exact,
    _read_header,
    _read_summary_frame,
    _Reader,
    read_header,
)
from bidding.envelope.keys import (  # noqa: F401
    _ephemeral_key,
    _hkdf,
    _kek,
    _wrap,
    b64url_decode,
    b64url_encode,
    frame_nonce,
    kid_of,
    load_public_key_b64,
    load_public_key_der,
    part_keys,
    sign_digest,
    spki_der,
    unwrap_key,
    verify_signature,
)
from bidding.envelope.opening import (  # noqa: F401
    _decrypt_frame,
    _open_summary,
    inspect,
    open_documents,
    open_summary,
)
from bidding.envelope.sealing import (  # noqa: F401
    _complete_summary,
    _hash_documents,
    _seal_documents,
    _Writer,
    seal,
)
