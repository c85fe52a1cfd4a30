// The public verification page: hash the envelope in the browser (WebCrypto) so it is never uploaded;
// only its SHA-256 digest goes to the server with the receipt.
(function () {
  "use strict";
  const form = document.getElementById("verify-receipt-form");
  if (!form) return;
  const envelope = document.getElementById("verify-envelope");
  const digest = document.getElementById("verify-digest");
  const hashing = document.getElementById("verify-hashing");
  const gettext = window.gettext || ((text) => text);

  function hex(buffer) {
    return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  envelope.addEventListener("change", async () => {
    const file = envelope.files[0];
    if (!file) return;
    hashing.hidden = false;
    hashing.textContent = gettext("Computing the envelope digest…");
    try {
      digest.value = hex(await crypto.subtle.digest("SHA-256", await file.arrayBuffer()));
      hashing.textContent = gettext("Envelope digest computed in your browser.");
    } catch (error) {
      digest.value = "";
      hashing.textContent = gettext("Could not read the envelope file in this browser; enter its digest instead.");
    }
  });

  form.addEventListener("submit", (event) => {
    // The envelope input has no name, so the browser never sends it; wait for its digest if it is still being computed.
    if (envelope.files.length && !digest.value) {
      event.preventDefault();
      hashing.hidden = false;
      hashing.textContent = gettext("Wait until the envelope digest is computed, then submit again.");
    }
  });
})();
