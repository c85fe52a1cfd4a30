"""The bidder-tool API (DESIGN.md §11, fixed): keys, opening key, chunked upload, submit, withdraw, receipts."""

import base64

from django.http import FileResponse, HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from bidding.models import Bid, OpeningKey, OpeningRoom
from bidding.receipts import receipt_bundle, receipt_pdf
from bidding.services import bids, keys, uploads
from trading.api.views import parsed
from trading.files import open_stored
from trading.models import User
from trading.selectors import section_get_visible
from trading.services.errors import NotFound, PermissionDenied
from trading.services.registrations import require_bidder, require_registered


class BidderKeysIn(serializers.Serializer):
    enc_public_key = serializers.CharField(max_length=400)
    sign_public_key = serializers.CharField(max_length=400)


class UploadIn(serializers.Serializer):
    size = serializers.IntegerField(min_value=1)
    chunk_size = serializers.IntegerField(min_value=1)


class SubmitIn(serializers.Serializer):
    digest = serializers.CharField(max_length=128)
    signature = serializers.CharField(max_length=400)


class RawChunkParser(BaseParser):
    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream


class BidderKeysView(APIView):
    @extend_schema(request=BidderKeysIn, responses={201: dict})
    def post(self, request):
        require_bidder(request.user)
        data = parsed(BidderKeysIn, request)
        enc, sign = keys.bidder_keys_register(user=request.user, enc_public_key=data["enc_public_key"],
                                              sign_public_key=data["sign_public_key"])
        return Response({"enc_kid": enc.kid, "sign_kid": sign.kid}, status=status.HTTP_201_CREATED)


class OpeningKeyView(APIView):
    @extend_schema(responses=dict)
    def get(self, request, section_id):
        section = section_get_visible(user=request.user, public_id=section_id)
        if not request.user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN, User.Role.AGENCY):
            require_registered(user=request.user, section=section)
        key = OpeningKey.objects.filter(section=section).first()
        if key is None:
            raise NotFound(_("This section has no opening key yet."))
        return Response({"kid": key.kid, "public_key": base64.b64encode(bytes(key.public_key)).decode(),
                         "not_before": key.not_before.isoformat()})


class UploadCreateView(APIView):
    @extend_schema(request=UploadIn, responses={201: dict})
    def post(self, request, section_id):
        section = section_get_visible(user=request.user, public_id=section_id)
        require_registered(user=request.user, section=section)
        data = parsed(UploadIn, request)
        upload = uploads.upload_create(user=request.user, section=section, size=data["size"],
                                       chunk_size=data["chunk_size"])
        return Response({"upload_id": upload.public_id, "chunk_count": upload.chunk_count},
                        status=status.HTTP_201_CREATED)


class UploadStatusView(APIView):
    @extend_schema(responses=dict)
    def get(self, request, upload_id):
        upload = uploads.upload_for(user=request.user, upload_id=upload_id)
        return Response({"received": uploads.upload_received(upload), "size": upload.size,
                         "chunk_size": upload.chunk_size, "chunk_count": upload.chunk_count,
                         "status": upload.status})


class ChunkView(APIView):
    parser_classes = [RawChunkParser]

    @extend_schema(request={"application/octet-stream": bytes}, responses={204: None})
    def put(self, request, upload_id, index):
        upload = uploads.upload_for(user=request.user, upload_id=upload_id)
        uploads.upload_put_chunk(upload=upload, index=index, body=request,
                                 declared_sha256=request.headers.get("X-Chunk-SHA256", ""))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubmitView(APIView):
    @extend_schema(request=SubmitIn, responses={201: dict})
    def post(self, request, upload_id):
        upload = uploads.upload_for(user=request.user, upload_id=upload_id)
        data = parsed(SubmitIn, request)
        bid = bids.bid_submit(user=request.user, upload=upload, digest_hex=data["digest"],
                              signature_b64=data["signature"], user_agent=request.headers.get("User-Agent", ""))
        return Response(bids.receipt(bid), status=status.HTTP_201_CREATED)


class BidView(APIView):
    @extend_schema(responses=dict)
    def get(self, request, bid_id):
        bid = bids.bid_for(user=request.user, bid_id=bid_id)
        return Response({**bids.receipt(bid), "status": bid.status, "size": bid.size})

    @extend_schema(responses={204: None})
    def delete(self, request, bid_id):
        bids.bid_withdraw(user=request.user, bid_id=bid_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReceiptPdfView(APIView):
    @extend_schema(responses={(200, "application/pdf"): bytes})
    def get(self, request, bid_id):
        bid = bids.bid_for(user=request.user, bid_id=bid_id)
        response = HttpResponse(receipt_pdf(bid, base_url=_base_url(request)), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="receipt-{bid.public_id}.pdf"'
        return response


class ReceiptBundleView(APIView):
    """回执包: everything needed to verify the receipt offline, for the bidder's own bid only."""

    @extend_schema(responses={(200, "application/zip"): bytes})
    def get(self, request, bid_id):
        bid = bids.bid_for(user=request.user, bid_id=bid_id)
        bundle = receipt_bundle(bid, receipt=bids.receipt(bid), base_url=_base_url(request))
        response = HttpResponse(bundle, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="receipt-{bid.public_id}.zip"'
        return response


def _base_url(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


class ReceiptTokenView(APIView):
    @extend_schema(responses={(200, "application/timestamp-reply"): bytes})
    def get(self, request, bid_id):
        from timestamps.tsa import token_to_response

        bid = bids.bid_for(user=request.user, bid_id=bid_id)
        response = HttpResponse(token_to_response(bytes(bid.timestamp_token)),
                                content_type="application/timestamp-reply")
        response["Content-Disposition"] = f'attachment; filename="receipt-{bid.public_id}.tsr"'
        return response


class MyBidsView(APIView):
    @extend_schema(responses=dict)
    def get(self, request, section_id):
        section = section_get_visible(user=request.user, public_id=section_id)
        if not request.user.has_role(User.Role.BIDDER):
            raise PermissionDenied(_("Only a bidder can do this."))
        mine = Bid.objects.filter(section=section, organization=request.user.organization_id)
        return Response([{**bids.receipt(b), "status": b.status} for b in mine.select_related("section")])


class DecryptIn(serializers.Serializer):
    k2 = serializers.CharField(max_length=100)


class DecryptView(APIView):
    @extend_schema(request=DecryptIn, responses=dict)
    def post(self, request, bid_id):
        from bidding.room.decrypt import room_decrypt

        bids.bid_for(user=request.user, bid_id=bid_id)  # another's bid is not found before K2 is read
        bid = room_decrypt(user=request.user, bid_id=bid_id, k2=parsed(DecryptIn, request)["k2"])
        return Response({"bid_id": bid.public_id, "status": bid.status, "summary": bid.summary})


class OpeningSnapshotView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=dict)
    def get(self, request, section_id):
        from bidding.room.access import room_role
        from bidding.room.snapshot import room_snapshot

        section = section_get_visible(user=request.user, public_id=section_id)
        room = OpeningRoom.objects.filter(section=section).first()
        if room is None:
            raise NotFound(_("This section has no opening room."))
        return Response(room_snapshot(room, role=room_role(request.user, section),
                                      org_id=getattr(request.user, "organization_id", None)))


class OpeningRecordView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={(200, "application/pdf"): bytes})
    def get(self, request, section_id):
        section = section_get_visible(user=request.user, public_id=section_id)
        room = OpeningRoom.objects.filter(section=section).first()
        if room is None or not room.record_path:
            raise NotFound(_("The opening record is not ready."))
        return FileResponse(open_stored(room.record_path), as_attachment=True, content_type="application/pdf",
                            filename=f"opening-record-{section.public_id}.pdf")


class OpeningRecordDraftView(APIView):
    """The draft record the parties co-sign (ADR 0032); its SHA-256 is in the ``record_draft`` message."""

    permission_classes = [AllowAny]

    @extend_schema(responses={(200, "application/pdf"): bytes})
    def get(self, request, section_id):
        section = section_get_visible(user=request.user, public_id=section_id)
        room = OpeningRoom.objects.filter(section=section).first()
        if room is None or not room.draft_path:
            raise NotFound(_("The opening record is not ready."))
        return FileResponse(open_stored(room.draft_path), as_attachment=True, content_type="application/pdf",
                            filename=f"opening-record-draft-{section.public_id}.pdf")


class EnvelopeHeaderView(APIView):
    """The sealed envelope's opening bytes (magic, length, header): all a bidder needs to unwrap its K2."""

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, bid_id):
        bid = bids.bid_for(user=request.user, bid_id=bid_id)
        with open_stored(bid.storage_path) as handle:
            prefix = handle.read(8)
            head = prefix + handle.read(int.from_bytes(prefix[4:8], "big"))
        return HttpResponse(head, content_type="application/octet-stream")
