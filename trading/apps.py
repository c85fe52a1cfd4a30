from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"
    verbose_name = "Trading"

    def ready(self) -> None:
        from trading import receivers, scheduler, signals

        # trading is the first of our apps to be ready, so sections close before any other sweep runs.
        signals.periodic_sweep.connect(receivers.sweep_close_bidding, dispatch_uid="trading.sweep_close_bidding")
        signals.periodic_sweep.connect(receivers.sweep_ledger_anchor, dispatch_uid="trading.sweep_ledger_anchor")
        scheduler.start_if_enabled()
