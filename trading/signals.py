"""The declared extension points of the trading core (DESIGN.md §3; as pretix/base/signals.py).

The core sends these signals; the capability apps (deposits, credit, supervision), the feature apps
(bidding, experts) and the timestamps library connect their receivers in their own ``AppConfig.ready()``
with a ``dispatch_uid``, so the core never imports them. Every receiver takes ``sender`` and ``**kwargs``.

Guards and checks are sent with ``send()``: a receiver's exception reaches the caller, inside its
transaction. Only ``periodic_sweep`` isolates its receivers from each other (``trading.sweeps``).
"""

from django.dispatch import Signal

# --- the section's life (标段状态) ------------------------------------------------------------------

section_published = Signal()
"""Sent by ``section_publish`` inside its transaction, after draft → published.

sender: ``Section``; arguments: ``section``, ``now``. A receiver prepares what the section needs while it
is open (bidding: the opening key and the opening room). An exception rolls the publication back."""

section_deadline_moved = Signal()
"""Sent when a clarification moves a published section's bid deadline, inside that transaction.

sender: ``Section``; arguments: ``section`` (with the new ``bid_deadline``), ``now``. A receiver follows the
new deadline (bidding: rebinds the opening key, moves the room's sign-in end)."""

section_opening = Signal()
"""Sent by ``section_close_bidding`` inside its locked transaction, after published → bidding_closed →
opening.

sender: ``Section``; arguments: ``section``, ``now``. A receiver starts the opening (bidding: the room)."""

section_transition_guard = Signal()
"""Sent by every transition of the section state machine (``trading.services.lifecycle``, sweeps included)
inside its locked transaction, before the status changes.

sender: ``Section``; arguments: ``section`` (locked, still in its old status), ``to``, ``now``. A receiver
refuses the transition by raising a ``SectionError``, which the sweeps skip (complaints: a section suspended by the supervisory
department makes no transition until the suspension is lifted, R37); its return value is ignored."""

# --- sign-up (报名) -------------------------------------------------------------------------------

registration_guard = Signal()
"""Sent by ``registration_create`` before a sign-up is written.

sender: ``Registration``; arguments: ``organization``, ``section``, ``now``. A receiver refuses the
sign-up by raising a ``DomainError`` (credit: a barred bidder, R31); its return value is ignored."""

registration_created = Signal()
"""Sent by ``registration_create`` inside its transaction, after the sign-up is written.

sender: ``Registration``; arguments: ``registration``, ``now``. A receiver adds what a signed-up bidder
needs (deposits: the virtual sub-account for the deposit)."""

deposit_payment_guard = Signal()
"""Sent by the deposits app before it accepts a bank payment as a deposit (投标保证金).

sender: ``Section``; arguments: ``organization``, ``section``, ``now``. A receiver refuses the payment by
raising a ``DomainError`` (credit: a barred bidder, R31); the money is then returned, never lost."""

# --- bids (投标) ----------------------------------------------------------------------------------

bid_guard = Signal()
"""Sent by the bidding app before a bid upload is accepted.

sender: ``Section``; arguments: ``organization``, ``section``, ``now``. A receiver refuses the bid by
raising a ``DomainError`` (credit: a barred bidder, R31)."""

bid_withdrawn = Signal()
"""Sent by the bidding app inside its locked transaction after a bid is withdrawn before the deadline.

sender: ``Section``; arguments: ``bid``, ``now``. A receiver undoes what the bid held (deposits: the
refund within 5 days, R19)."""

# --- the opening room (开标) ----------------------------------------------------------------------

opening_bid_check = Signal()
"""Sent by the opening room for each extracted bid, before decryption.

sender: ``Section``; arguments: ``bid``, ``now``. A receiver returns a reason to disqualify the bid, or
``""``/``None`` (credit: a bidder barred after it submitted, R31). The first reason given wins."""

opening_deposit_check = Signal()
"""Sent by the opening room for each bid as its price is read (唱标, R12).

sender: ``Section``; arguments: ``bid``. A receiver returns ``{"status", "label"}`` describing the bid's
deposit, or ``None`` (deposits). The first answer wins; with none the room shows "not checked"."""

opening_bid_outcome = Signal()
"""Sent by the opening room inside its transaction when a bid ends the decryption window revoked or
failed by the platform (R11).

sender: ``Section``; arguments: ``bid``, ``now``. A receiver settles the bid's money (deposits: a
forfeiture proposal for a revocation, R21; a refund for a platform fault, R19)."""

opening_record_notes = Signal()
"""Sent by the opening room while it builds the opening record (开标记录表, R12), outside any transaction.

sender: ``Section``; arguments: ``section``. A receiver returns a list of lines (in Chinese, as the record) that
the record prints under its supervision notes, or nothing (supervision: every break-glass view of the section,
R14). The lines of every receiver are printed."""

ledger_sealed_actors = Signal()
"""Sent when a ledger view is built for a user (the supervision console's ledger page), outside any transaction.

sender: ``None``; arguments: ``user``, ``now``. A receiver returns a set of actor names that must not be shown to
that user yet, or nothing (experts: the accounts of experts drawn for a committee whose result is pending, R25,
less the sections under the user's active break-glass). Read-only."""

opening_prices_read = Signal()
"""Sent by the opening room inside its transaction once every price has been read.

sender: ``Section``; arguments: ``section``, ``now``. A receiver looks at the read prices (credit: the
collusion signals, R32)."""

bid_documents_wanted = Signal()
"""Sent when another app wants a bid's decrypted documents, outside any room transaction.

sender: ``Section``; arguments: ``bid``, ``max_bytes``. A receiver returns the documents as bytes, or
``None`` when it has none or they are larger than ``max_bytes`` (experts: the copy decrypted for the
evaluation). The first bytes returned win; a receiver that raises is logged and skipped."""

# --- experts and the award (专家, 定标) -----------------------------------------------------------

expert_draw_exclusions = Signal()
"""Sent by the expert draw while it builds the eligible pools.

sender: ``Section``; arguments: ``codes`` (every candidate expert's code), ``section``, ``now``. A
receiver returns the codes that may not be drawn, or nothing (credit: the blacklist, R31)."""

contract_recorded = Signal()
"""Sent by ``contract_record`` inside its transaction, after awarded → contracted (合同签订, R29).

sender: ``Section``; arguments: ``section``, ``signed_at``, ``now``. A receiver does what the contract
triggers (deposits: every deposit is refunded with interest within 5 days of the signing, R18)."""

# --- the archive (电子档案) -------------------------------------------------------------------------

section_archive_files = Signal()
"""Sent by ``trading.archives`` while it builds the archive of a section that has ended (contracted, failed or
cancelled), inside its transaction, with the section locked.

sender: ``Section``; arguments: ``section``. A receiver returns a list of ``(archive_name, content,
recorded_sha256)``: ``archive_name`` a relative path in the zip ("opening/opening-record.pdf"), ``content``
either ``bytes`` or a ``str`` naming a file in the file store (streamed), ``recorded_sha256`` the hash the
platform recorded for that file when it was made, or ``None``. Read-only; an exception stops the build, which
the next sweep retries."""

# --- housekeeping ---------------------------------------------------------------------------------

periodic_sweep = Signal()
"""Sent by ``trading.sweeps.run_sweeps`` on every tick of beat (production) or the embedded scheduler.

sender: ``None``; arguments: ``now``. A receiver is one idempotent sweep named ``sweep_<name>`` that
locks and re-checks what it changes, and returns a small result (a count or a dict) for the log. A
failing receiver is logged and does not stop the others."""

demo_seeded = Signal()
"""Sent by ``trading.demo.seed_demo`` after the core's demo data exists.

sender: ``None``; arguments: ``accounts`` (the demo accounts, username → password) and ``live_section`` (the
live demo opening's section, published, deadline minutes away, bidder1-bidder4 signed up). A receiver adds its
own idempotent demo data (experts: the expert pool and a draw; bidding: the sealed bids of the live section) and
may return a list of lines for the run output."""
