"""tsa_init: create the timestamp authority's CA, certificate and key on first run."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from timestamps.pki import CA_FILE, CERT_FILE, KEY_FILE, TsaKeyError, ensure_tsa_keys, load_tsa
from timestamps.tsa import POLICY_OID


class Command(BaseCommand):
    help = "Create the TSA root CA, certificate and key in TSA_DIR if missing (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        directory = settings.TSA_DIR
        existed = (directory / KEY_FILE).exists()
        try:
            ensure_tsa_keys(directory)
            identity = load_tsa(directory)
        except (TsaKeyError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("TSA keys already present" if existed else "TSA keys created")
        for name in (CA_FILE, CERT_FILE, KEY_FILE):
            self.stdout.write(f"  {directory / name}")
        self.stdout.write(f"  subject: {identity.cert.subject.rfc4514_string()}")
        self.stdout.write(f"  valid until: {identity.cert.not_valid_after_utc.isoformat()}")
        self.stdout.write(f"  policy: {POLICY_OID}")
        from timestamps.docsign import ensure_signing_keys, signing_dir

        ensure_signing_keys(signing_dir())
        self.stdout.write(f"document seal keys: {signing_dir()}")
