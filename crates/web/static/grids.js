// Capability H pages: grid and preview maps (Leaflet, no tiles: works offline), and live
// check-round progress over server-sent events (/events?topics=grids). No inline script (CSP).
(function () {
  "use strict";

  function drawMap(el, layers) {
    if (!window.L || !el) return;
    var map = L.map(el, { attributionControl: true });
    var group = L.featureGroup().addTo(map);
    layers(group);
    if (group.getLayers().length) {
      map.fitBounds(group.getBounds(), { padding: [12, 12] });
    } else {
      map.setView([31.3, 120.62], 11);
    }
  }

  function initMaps() {
    var el = document.getElementById("grid-map");
    if (!el) return;
    if (el.dataset.map) {
      var d = JSON.parse(el.dataset.map);
      drawMap(el, function (g) {
        if (d.boundary) L.geoJSON(d.boundary, { style: { color: "#c8102e", weight: 2, fillOpacity: 0.05 } }).addTo(g);
        (d.buildings || []).forEach(function (b) {
          L.circleMarker([b[1], b[0]], { radius: 5, color: "#0b5cad" }).bindTooltip(b[2]).addTo(g);
        });
      });
    } else if (el.dataset.preview && el.dataset.preview !== "null") {
      var fc = JSON.parse(el.dataset.preview);
      drawMap(el, function (g) {
        L.geoJSON(fc, {
          style: { color: "#0b5cad", weight: 2, fillOpacity: 0.1 },
          onEachFeature: function (f, layer) { layer.bindTooltip(f.properties.name + " " + f.properties.code); },
        }).addTo(g);
      });
    }
  }

  function refresh(url, target) {
    if (!window.htmx) return;
    htmx.ajax("GET", url, { target: target, swap: "outerHTML" });
  }

  function initLive() {
    var round = document.querySelector("[data-live-round]");
    var list = document.querySelector("[data-live-list]");
    if (!round && !list) return;
    var es = new EventSource("/events?topics=grids");
    var onEvent = function (ev) {
      var e;
      try { e = JSON.parse(ev.data); } catch (_) { return; }
      var p = {};
      try { p = JSON.parse(e.payload || "{}"); } catch (_) {}
      if (round && String(p.round_id) === round.dataset.liveRound) {
        // Do not clobber a note being typed on this phone.
        var active = document.activeElement;
        if (active && active.classList && active.classList.contains("note") && active.value) return;
        refresh("/grids/rounds/" + round.dataset.liveRound + "/body", "#round-body");
      }
      if (list) {
        fetch("/grids/rounds-live", { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : null; })
          .then(function (html) { if (html !== null) list.innerHTML = html; });
      }
    };
    ["grids.round_started", "grids.check_recorded", "grids.round_closed"].forEach(function (k) {
      es.addEventListener(k, onEvent);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    initMaps();
    initLive();
  });
})();
