// Tongxin incidents, mobilisation and tasks: live refresh over server-sent events (the browser's
// EventSource resumes with Last-Event-ID after a dropped connection), sub-type filtering,
// phone check-in with the device location, and the Leaflet map (WGS-84 data; converted to
// GCJ-02 only when a Chinese basemap is configured).
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (live && window.EventSource) {
    var topics = live.getAttribute("data-live") || "incident";
    var timer = null;
    var refresh = function () {
      fetch(location.pathname + location.search, { credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById("live");
          if (fresh) {
            live.innerHTML = fresh.innerHTML; bindCheckin(); live.setAttribute("data-refreshed", String(Date.now()));
            document.dispatchEvent(new CustomEvent("tongxin:live"));
          }
        });
    };
    // Events are named by topic (`name=topic`): any kind of a topic refreshes the region.
    var es = new EventSource("/events?name=topic&topics=" + encodeURIComponent(topics));
    es.onmessage = function () { clearTimeout(timer); timer = setTimeout(refresh, 100); };
    topics.split(",").forEach(function (t) {
      es.addEventListener(t, function () { clearTimeout(timer); timer = setTimeout(refresh, 100); });
    });
  }

  var cat = document.getElementById("category"), sub = document.getElementById("subtype");
  if (cat && sub) {
    var filter = function () {
      var first = null;
      Array.prototype.forEach.call(sub.options, function (o) {
        var on = o.getAttribute("data-cat") === cat.value;
        o.hidden = !on; o.disabled = !on;
        if (on && !first) first = o;
      });
      if (sub.selectedOptions.length === 0 || sub.selectedOptions[0].disabled) { if (first) sub.value = first.value; }
    };
    cat.addEventListener("change", filter); filter();
  }

  function bindCheckin() {
    Array.prototype.forEach.call(document.querySelectorAll("form.checkin"), function (f) {
      if (f.dataset.bound) return; f.dataset.bound = "1";
      f.addEventListener("submit", function (ev) {
        var lon = f.querySelector(".geo-lon"), lat = f.querySelector(".geo-lat");
        if (lon.value || !navigator.geolocation) return;
        ev.preventDefault();
        navigator.geolocation.getCurrentPosition(function (p) {
          lon.value = p.coords.longitude; lat.value = p.coords.latitude; f.submit();
        }, function () { f.submit(); }, { enableHighAccuracy: true, timeout: 10000 });
      });
    });
  }
  bindCheckin();

  // WGS-84 → GCJ-02 (the published transform), for Chinese basemaps only; the inverse by
  // fixed-point iteration (a few steps reach centimetres). Data on the server stays WGS-84.
  function outOfChina(lon, lat) { return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271; }
  function tlat(x, y) { var r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3; r += (20 * Math.sin(y * Math.PI) + 40 * Math.sin(y / 3 * Math.PI)) * 2 / 3;
    return r + (160 * Math.sin(y / 12 * Math.PI) + 320 * Math.sin(y * Math.PI / 30)) * 2 / 3; }
  function tlon(x, y) { var r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3; r += (20 * Math.sin(x * Math.PI) + 40 * Math.sin(x / 3 * Math.PI)) * 2 / 3;
    return r + (150 * Math.sin(x / 12 * Math.PI) + 300 * Math.sin(x / 30 * Math.PI)) * 2 / 3; }
  function toGcj(lon, lat) {
    if (outOfChina(lon, lat)) return [lon, lat];
    var a = 6378245.0, ee = 0.00669342162296594323;
    var dLat = tlat(lon - 105, lat - 35), dLon = tlon(lon - 105, lat - 35), rad = lat / 180 * Math.PI;
    var m = Math.sin(rad); m = 1 - ee * m * m; var s = Math.sqrt(m);
    dLat = (dLat * 180) / ((a * (1 - ee)) / (m * s) * Math.PI); dLon = (dLon * 180) / (a / s * Math.cos(rad) * Math.PI);
    return [lon + dLon, lat + dLat];
  }
  function fromGcj(lon, lat) {
    var x = lon, y = lat;
    for (var i = 0; i < 4; i++) { var g = toGcj(x, y); x -= g[0] - lon; y -= g[1] - lat; }
    return [x, y];
  }
  window.tongxinGeo = { toGcj: toGcj, fromGcj: fromGcj };

  function boundaryAttribution(lang) {
    var osm = '<a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>';
    var odbl = '<a href="https://opendatacommons.org/licenses/odbl/1-0/">ODbL 1.0</a>';
    return lang.indexOf("zh") === 0
      ? "区划边界 © " + osm + " 贡献者（" + odbl + "），经 geoBoundaries"
      : "Boundaries © " + osm + " contributors (" + odbl + "), via geoBoundaries";
  }
  function esc(t) { return String(t).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }); }

  // The incident map: district outlines (always, from this server: works offline), the
  // configured basemap if any, and incidents, open tasks and available responders of the
  // caller's jurisdiction, redrawn on live events.
  var mapEl = document.getElementById("map");
  if (mapEl && window.L) {
    var tiles = mapEl.getAttribute("data-tiles") || "";
    var gcj = tiles !== "" && mapEl.getAttribute("data-crs") === "gcj02";
    var show = function (lon, lat) { var p = gcj ? toGcj(lon, lat) : [lon, lat]; return [p[1], p[0]]; };
    var map = L.map(mapEl, { attributionControl: true }).setView(show(120.62, 31.30), 10);
    map.attributionControl.addAttribution(boundaryAttribution(mapEl.getAttribute("data-lang") || "zh"));
    if (tiles) L.tileLayer(tiles, { maxZoom: 18, attribution: esc(mapEl.getAttribute("data-tiles-attribution") || "") }).addTo(map);
    mapEl.setAttribute("data-datum", gcj ? "gcj02" : "wgs84");
    fetch(mapEl.getAttribute("data-districts"))
      .then(function (r) { return r.ok ? r.json() : { features: [] }; })
      .then(function (fc) {
        L.geoJSON(fc, {
          interactive: false,
          coordsToLatLng: function (c) { return L.latLng(show(c[0], c[1])); },
          style: { color: "#666", weight: 1, dashArray: "4 3", fill: false, className: "district" },
        }).addTo(map).bringToBack();
        mapEl.setAttribute("data-districts-drawn", String(fc.features.length));
      })
      .catch(function () {});
    var layer = L.layerGroup().addTo(map);
    var load = function () {
      fetch(mapEl.getAttribute("data-features"), { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (f) {
        layer.clearLayers();
        (f.responders || []).forEach(function (p) { L.circleMarker(show(p[0], p[1]), { radius: 2, color: "#1b7f3b", weight: 1, className: "responder" }).addTo(layer); });
        (f.tasks || []).forEach(function (t) { L.circleMarker(show(t.lon, t.lat), { radius: 6, color: "#0b5cad", className: "task" }).bindPopup("#" + t.id + " " + esc(t.title)).addTo(layer); });
        (f.incidents || []).forEach(function (i) {
          L.circleMarker(show(i.lon, i.lat), { radius: 9, color: "#c8102e", fillOpacity: 0.6, className: "incident" }).bindPopup('<a href="/incidents/' + i.id + '">#' + i.id + "</a> " + esc(i.title)).addTo(layer);
          if (i.radius_m > 0) L.circle(show(i.lon, i.lat), { radius: i.radius_m, color: "#c8102e", weight: 1 }).addTo(layer);
        });
        mapEl.setAttribute("data-incidents", String((f.incidents || []).length));
      });
    };
    load();
    document.addEventListener("tongxin:live", load);
    var lonIn = document.getElementById("lon"), latIn = document.getElementById("lat");
    if (lonIn && latIn) {
      map.on("click", function (e) {
        var p = gcj ? fromGcj(e.latlng.lng, e.latlng.lat) : [e.latlng.lng, e.latlng.lat];
        lonIn.value = p[0].toFixed(6); latIn.value = p[1].toFixed(6);
      });
    }
  }
})();
