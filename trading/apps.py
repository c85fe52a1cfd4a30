from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"
    verbose_name = "Trading"

    def ready(self) -> None:
        from trading import scheduler
        from trading.deposits.services.deposits import register_hooks

        register_hooks()
        from trading.credit.hooks import register_credit_hooks

        register_credit_hooks()
        scheduler.start_if_enabled()
