"""The stack's ceilings: the least work Django and DRF can do for a read and for a validated insert.

Neither carries authentication, throttling or scoping: the distance between them and a real
endpoint is what those (and the endpoint's own queries) cost.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.http import require_GET
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import CeilingRow


@require_GET
def plain(request):
    return JsonResponse({"status": "ok"})


class CeilingRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = CeilingRow
        fields = ["id", "name", "value", "created_at"]
        read_only_fields = ["id", "created_at"]


class InsertView(APIView):
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes: list = []

    def post(self, request):
        serializer = CeilingRowSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data, status=status.HTTP_201_CREATED)
