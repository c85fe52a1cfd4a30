from bidding.web_bid import urlpatterns as bid_urls
from bidding.web_demo import urlpatterns as demo_urls
from bidding.web_room import urlpatterns as room_urls

urlpatterns = [*room_urls, *bid_urls, *demo_urls]
