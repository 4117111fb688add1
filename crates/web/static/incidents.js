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
          if (fresh) { live.innerHTML = fresh.innerHTML; bindCheckin(); live.setAttribute("data-refreshed", String(Date.now())); }
        });
    };
    var es = new EventSource("/events?topics=" + encodeURIComponent(topics));
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

  // WGS-84 → GCJ-02 (the published transform), for Chinese basemaps only.
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

  var mapEl = document.getElementById("map");
  if (mapEl && window.L) {
    var tiles = localStorage.getItem("tongxin.tiles") || mapEl.getAttribute("data-tiles") || "";
    var gcj = localStorage.getItem("tongxin.gcj") === "1";
    var show = function (lon, lat) { var p = gcj ? toGcj(lon, lat) : [lon, lat]; return [p[1], p[0]]; };
    var map = L.map(mapEl).setView([31.30, 120.62], 10);
    if (tiles) L.tileLayer(tiles, { maxZoom: 18, attribution: "© OpenStreetMap contributors" }).addTo(map);
    fetch(mapEl.getAttribute("data-features"), { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (f) {
      (f.responders || []).forEach(function (p) { L.circleMarker(show(p[0], p[1]), { radius: 2, color: "#1b7f3b", weight: 1 }).addTo(map); });
      (f.tasks || []).forEach(function (t) { L.circleMarker(show(t.lon, t.lat), { radius: 6, color: "#0b5cad" }).bindPopup("#" + t.id + " " + t.title).addTo(map); });
      (f.incidents || []).forEach(function (i) {
        L.circleMarker(show(i.lon, i.lat), { radius: 9, color: "#c8102e", fillOpacity: 0.6 }).bindPopup('<a href="/incidents/' + i.id + '">#' + i.id + "</a> " + i.title.replace(/</g, "&lt;")).addTo(map);
        if (i.radius_m > 0) L.circle(show(i.lon, i.lat), { radius: i.radius_m, color: "#c8102e", weight: 1 }).addTo(map);
      });
    });
    var lonIn = document.getElementById("lon"), latIn = document.getElementById("lat");
    if (lonIn && latIn) {
      map.on("click", function (e) {
        // Back to WGS-84: one fixed-point step of the inverse is enough at metre scale.
        var lon = e.latlng.lng, lat = e.latlng.lat;
        if (gcj) { var g = toGcj(lon, lat); lon -= g[0] - lon; lat -= g[1] - lat; }
        lonIn.value = lon.toFixed(6); latIn.value = lat.toFixed(6);
      });
    }
  }
})();
