from django.urls import path

from bidding.consumers import OpeningRoomConsumer

websocket_urlpatterns = [
    path("ws/sections/<str:section_id>/opening/", OpeningRoomConsumer.as_asgi()),
]
