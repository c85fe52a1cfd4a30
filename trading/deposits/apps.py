from django.apps import AppConfig


class DepositsConfig(AppConfig):
    name = "trading.deposits"
    label = "deposits"
    verbose_name = "Deposits and the bank"
