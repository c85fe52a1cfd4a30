from django.apps import AppConfig


class CreditConfig(AppConfig):
    name = "trading.credit"
    label = "credit"
    verbose_name = "Credit and the blacklist"
