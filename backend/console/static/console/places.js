/* The place picker: a Leaflet map beside the latitude/longitude/radius inputs of a console form.
 * Coordinates are GCJ-02, the datum of Chinese map tiles and of the mini-program's positions.
 * "使用我的位置" converts the browser's WGS-84 fix with the same formula as backend/core/geo.py. */
(function () {
  "use strict";

  var A = 6378245.0;
  var EE = 0.00669342162296594323;

  function transformLat(x, y) {
    var ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    ret += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
    ret += ((20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin((y / 3.0) * Math.PI)) * 2.0) / 3.0;
    ret += ((160.0 * Math.sin((y / 12.0) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30.0)) * 2.0) / 3.0;
    return ret;
  }

  function transformLon(x, y) {
    var ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    ret += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
    ret += ((20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin((x / 3.0) * Math.PI)) * 2.0) / 3.0;
    ret += ((150.0 * Math.sin((x / 12.0) * Math.PI) + 300.0 * Math.sin((x / 30.0) * Math.PI)) * 2.0) / 3.0;
    return ret;
  }

  function outsideChina(lat, lon) {
    return !(lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271);
  }

  function wgs84ToGcj02(lat, lon) {
    if (outsideChina(lat, lon)) return [lat, lon];
    var dLat = transformLat(lon - 105.0, lat - 35.0);
    var dLon = transformLon(lon - 105.0, lat - 35.0);
    var radLat = (lat / 180.0) * Math.PI;
    var magic = 1 - EE * Math.sin(radLat) * Math.sin(radLat);
    var sqrtMagic = Math.sqrt(magic);
    dLat = (dLat * 180.0) / (((A * (1 - EE)) / (magic * sqrtMagic)) * Math.PI);
    dLon = (dLon * 180.0) / ((A / sqrtMagic) * Math.cos(radLat) * Math.PI);
    return [lat + dLat, lon + dLon];
  }

  window.consolePlaces = { wgs84ToGcj02: wgs84ToGcj02 };

  function byId(id) {
    return id ? document.getElementById(id) : null;
  }

  function number(input) {
    var value = input ? parseFloat(input.value) : NaN;
    return isFinite(value) ? value : null;
  }

  function setUp(box) {
    if (typeof L === "undefined" || box.dataset.ready) return;
    box.dataset.ready = "1";
    var latInput = byId(box.dataset.lat);
    var lngInput = byId(box.dataset.lng);
    var radiusInput = byId(box.dataset.radius);
    var status = box.parentNode.querySelector("[data-place-status]");
    var start = [number(latInput), number(lngInput)];
    var known = start[0] !== null && start[1] !== null;
    var centre = known ? start : [parseFloat(box.dataset.centreLat), parseFloat(box.dataset.centreLng)];
    var map = L.map(box, { attributionControl: true }).setView(centre, known ? 17 : 13);
    map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
    L.tileLayer(box.dataset.tiles, {
      subdomains: box.dataset.subdomains || "1234",
      maxZoom: 18,
      attribution: box.dataset.attribution || "",
    }).addTo(map);
    var marker = null;
    var circle = null;

    function radius() {
      return number(radiusInput) || 200;
    }

    function show(lat, lng) {
      var at = [lat, lng];
      if (!marker) {
        marker = L.marker(at, { draggable: true }).addTo(map);
        marker.on("dragend", function () {
          var p = marker.getLatLng();
          pick(p.lat, p.lng, false);
        });
        circle = L.circle(at, { radius: radius(), color: "#c81e1e", weight: 1 }).addTo(map);
      } else {
        marker.setLatLng(at);
        circle.setLatLng(at);
      }
      circle.setRadius(radius());
    }

    function pick(lat, lng, pan) {
      if (latInput) latInput.value = lat.toFixed(6);
      if (lngInput) lngInput.value = lng.toFixed(6);
      show(lat, lng);
      if (pan) map.setView([lat, lng], Math.max(map.getZoom(), 17));
      if (latInput) latInput.dispatchEvent(new Event("change", { bubbles: true }));
    }

    if (known) show(start[0], start[1]);
    map.on("click", function (e) {
      pick(e.latlng.lat, e.latlng.lng, false);
    });
    [latInput, lngInput].forEach(function (input) {
      if (!input) return;
      input.addEventListener("input", function () {
        var lat = number(latInput);
        var lng = number(lngInput);
        if (lat !== null && lng !== null) show(lat, lng);
      });
    });
    if (radiusInput) {
      radiusInput.addEventListener("input", function () {
        if (circle) circle.setRadius(radius());
      });
    }
    var locate = box.parentNode.querySelector("[data-place-locate]");
    if (locate) {
      locate.addEventListener("click", function () {
        if (!navigator.geolocation) {
          if (status) status.textContent = "此浏览器不能定位, 请在地图上点选";
          return;
        }
        if (status) status.textContent = "正在定位…";
        navigator.geolocation.getCurrentPosition(
          function (position) {
            var gcj = wgs84ToGcj02(position.coords.latitude, position.coords.longitude);
            pick(gcj[0], gcj[1], true);
            if (status) status.textContent = "已定位(精度约 " + Math.round(position.coords.accuracy) + " 米), 可拖动标记微调";
          },
          function () {
            if (status) status.textContent = "未能定位(未授权或无信号), 请在地图上点选";
          },
          { enableHighAccuracy: true, timeout: 10000 }
        );
      });
    }
  }

  function setUpAll() {
    document.querySelectorAll("[data-place-map]").forEach(setUp);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUpAll);
  else setUpAll();
})();
