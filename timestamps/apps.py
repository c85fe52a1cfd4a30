from django.apps import AppConfig


class TimestampsConfig(AppConfig):
    name = "timestamps"
    verbose_name = "Timestamps and audit ledger"

    def ready(self) -> None:
        from timestamps.anchors import sweep_anchor
        from trading.sweeps import SWEEPS

        if ("ledger_anchor", sweep_anchor) not in SWEEPS:
            SWEEPS.append(("ledger_anchor", sweep_anchor))
