from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "trading.supervision"
    label = "supervision"
    verbose_name = "Supervision"
