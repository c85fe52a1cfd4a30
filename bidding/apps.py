from django.apps import AppConfig


class BiddingConfig(AppConfig):
    name = "bidding"
    verbose_name = "Sealed bids"

    def ready(self) -> None:
        from bidding.services import keys
        from trading.services import lifecycle

        lifecycle.ON_PUBLISH.append(keys.opening_key_create)
        lifecycle.ON_DEADLINE_MOVED.append(keys.opening_key_rebind)
