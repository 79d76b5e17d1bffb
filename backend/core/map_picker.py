"""The console's place picker: a map beside a form's latitude, longitude and radius inputs.

A form adds `map = map_picker_field()` and lists "map" among its fields; the map writes the
GCJ-02 point clicked (or found with 使用我的位置) into the inputs, which stay the saved values.
Leaflet and the picker's script are served from our static files; tiles from CONSOLE_MAP_TILES.
"""

from __future__ import annotations

from django import forms
from django.conf import settings


class MapPickerWidget(forms.Widget):
    template_name = "console/map_picker.html"

    def __init__(self, *, latitude: str = "latitude", longitude: str = "longitude", radius: str = "radius_m"):
        super().__init__()
        self.names = {"lat": latitude, "lng": longitude, "radius": radius}

    class Media:
        css = {"all": ["console/leaflet/leaflet.css"]}
        js = ["console/leaflet/leaflet.js", "console/places.js"]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        # The inputs' ids follow Django's auto_id ("id_%s"), with the form's prefix when it has one.
        prefix = name[: -len("map")] if name.endswith("map") else ""
        centre_lat, centre_lng = settings.CONSOLE_MAP_CENTER
        context["map"] = {
            "ids": {key: f"id_{prefix}{field}" for key, field in self.names.items()},
            "tiles": settings.CONSOLE_MAP_TILES,
            "attribution": settings.CONSOLE_MAP_ATTRIBUTION,
            "centre_lat": centre_lat,
            "centre_lng": centre_lng,
        }
        return context

    def value_from_datadict(self, data, files, name):
        return None


def map_picker_field(**names: str) -> forms.Field:
    """A form field holding no value of its own: only the map that fills the coordinate inputs."""
    return forms.Field(
        label="在地图上选点",
        required=False,
        widget=MapPickerWidget(**names),
        help_text="点击地图或拖动标记设定位置(GCJ-02, 与小程序定位一致); 红圈为签到范围",
    )
