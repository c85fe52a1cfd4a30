from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "trading.supervision"
    label = "supervision"
    verbose_name = "Supervision"

    def ready(self) -> None:
        from trading import signals
        from trading.supervision import receivers

        for sweep in (receivers.sweep_credit_disqualify_barred, receivers.sweep_supervision_alerts):
            signals.periodic_sweep.connect(sweep, dispatch_uid=f"supervision.{sweep.__name__}")
        signals.opening_record_notes.connect(receivers.opening_record_break_glass,
                                             dispatch_uid="supervision.opening_record_break_glass")
