from django.urls import path

from bidding import api

urlpatterns = [
    path("bidder-keys", api.BidderKeysView.as_view(), name="api-bidder-keys"),
    path("sections/<str:section_id>/opening-key", api.OpeningKeyView.as_view(), name="api-opening-key"),
    path("sections/<str:section_id>/bids/uploads", api.UploadCreateView.as_view(), name="api-upload-create"),
    path("sections/<str:section_id>/bids/mine", api.MyBidsView.as_view(), name="api-my-bids"),
    path("bids/uploads/<str:upload_id>", api.UploadStatusView.as_view(), name="api-upload"),
    path("bids/uploads/<str:upload_id>/chunks/<int:index>", api.ChunkView.as_view(), name="api-upload-chunk"),
    path("bids/uploads/<str:upload_id>/submit", api.SubmitView.as_view(), name="api-upload-submit"),
    path("bids/<str:bid_id>", api.BidView.as_view(), name="api-bid"),
    path("bids/<str:bid_id>/envelope-header", api.EnvelopeHeaderView.as_view(), name="api-bid-header"),
    path("bids/<str:bid_id>/decrypt", api.DecryptView.as_view(), name="api-bid-decrypt"),
    path("sections/<str:section_id>/opening", api.OpeningSnapshotView.as_view(), name="api-opening"),
    path("sections/<str:section_id>/opening/record.pdf", api.OpeningRecordView.as_view(), name="api-opening-record"),
    path("sections/<str:section_id>/opening/record-draft.pdf", api.OpeningRecordDraftView.as_view(),
         name="api-opening-record-draft"),
    path("bids/<str:bid_id>/receipt.pdf", api.ReceiptPdfView.as_view(), name="api-bid-receipt-pdf"),
    path("bids/<str:bid_id>/receipt.zip", api.ReceiptBundleView.as_view(), name="api-bid-receipt-zip"),
    path("bids/<str:bid_id>/receipt.tsr", api.ReceiptTokenView.as_view(), name="api-bid-receipt-tsr"),
]
