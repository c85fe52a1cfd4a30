from django.apps import AppConfig


class CreditConfig(AppConfig):
    name = "trading.credit"
    label = "credit"
    verbose_name = "Credit and the blacklist"

    def ready(self) -> None:
        from trading import signals
        from trading.credit import receivers

        for signal, receiver in (
            (signals.registration_guard, receivers.registration_guard),
            (signals.bid_guard, receivers.bid_guard),
            (signals.deposit_payment_guard, receivers.deposit_payment_guard),
            (signals.opening_bid_check, receivers.opening_bid_check),
            (signals.expert_draw_exclusions, receivers.expert_draw_exclusions),
            (signals.opening_prices_read, receivers.opening_prices_read),
            (signals.periodic_sweep, receivers.sweep_collusion_signals),
        ):
            signal.connect(receiver, dispatch_uid=f"credit.{receiver.__name__}")
