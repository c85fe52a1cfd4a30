from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "trading.portal"
    label = "portal"
    verbose_name = "Public portal"
