from django.apps import AppConfig


class ComplaintsConfig(AppConfig):
    name = "trading.complaints"
    label = "complaints"
    verbose_name = "Complaints to the supervisory department"

    def ready(self) -> None:
        from trading import signals
        from trading.complaints import receivers

        for signal, receiver in (
            (signals.section_transition_guard, receivers.section_transition_guard),
        ):
            signal.connect(receiver, dispatch_uid=f"complaints.{receiver.__name__}")
