from django.apps import AppConfig


class DepositsConfig(AppConfig):
    name = "trading.deposits"
    label = "deposits"
    verbose_name = "Deposits and the bank"

    def ready(self) -> None:
        from trading import signals
        from trading.deposits import receivers

        for signal, receiver in (
            (signals.registration_created, receivers.registration_created),
            (signals.bid_withdrawn, receivers.bid_withdrawn),
            (signals.opening_deposit_check, receivers.opening_deposit_check),
            (signals.opening_bid_outcome, receivers.opening_bid_outcome),
            (signals.contract_recorded, receivers.contract_recorded),
            (signals.periodic_sweep, receivers.sweep_deposit_terminations),
            (signals.periodic_sweep, receivers.sweep_deposit_refund_outbox),
            (signals.periodic_sweep, receivers.sweep_deposit_refund_overdue),
        ):
            signal.connect(receiver, dispatch_uid=f"deposits.{receiver.__name__}")
