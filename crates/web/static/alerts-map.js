// Alert maps (capability G), Leaflet without tiles (works offline) over the Suzhou district
// outlines (© OpenStreetMap contributors, ODbL 1.0, via geoBoundaries).
// - Authoring (#area-map): draw a polygon (click the corners) or a circle (click the centre,
//   then the edge), tick division nodes; the form's inputs hold WGS-84 "lon,lat" text and the
//   reach preview (/alerts/new/reach) follows every change.
// - Public page (#alerts-map): the areas of the alerts in force, coloured by warning colour;
//   alerts-live.js calls window.tongxinAlertAreas() when an alert event arrives.
// No inline script (CSP).
(function () {
  "use strict";
  var COLOURS = { red: "#c62828", orange: "#ef6c00", yellow: "#f9a825", blue: "#1565c0" };

  function attribution(lang) {
    var osm = '<a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>';
    var odbl = '<a href="https://opendatacommons.org/licenses/odbl/1-0/">ODbL 1.0</a>';
    return lang.indexOf("zh") === 0
      ? "区划边界 © " + osm + " 贡献者（" + odbl + "），经 geoBoundaries"
      : "Boundaries © " + osm + " contributors (" + odbl + "), via geoBoundaries";
  }

  // A map with the district outlines; calls back with the map and the outlines by code.
  function baseMap(el, done) {
    var map = L.map(el, { attributionControl: true }).setView([31.31, 120.62], 12);
    map.attributionControl.addAttribution(attribution(el.getAttribute("data-lang") || "zh"));
    var districts = {};
    fetch(el.getAttribute("data-districts"))
      .then(function (r) { return r.ok ? r.json() : { features: [] }; })
      .then(function (fc) {
        L.geoJSON(fc, {
          interactive: false,
          style: { color: "#666", weight: 1, dashArray: "4 3", fill: false },
          onEachFeature: function (f, layer) { districts[f.properties.code] = f; },
        }).addTo(map);
      })
      .catch(function () {})
      .then(function () { done(map, districts); });
  }

  function fmt(n) { return n.toFixed(6); }

  function parsePolygon(text) {
    var pts = [];
    text.trim().split(/\s+/).forEach(function (pair) {
      var p = pair.split(",");
      if (p.length === 2 && isFinite(+p[0]) && isFinite(+p[1])) pts.push(L.latLng(+p[1], +p[0]));
    });
    return pts;
  }

  function parseCircle(text) {
    var m = text.trim().match(/^(-?[\d.]+),(-?[\d.]+)\s+([\d.]+)$/);
    return m ? { centre: L.latLng(+m[2], +m[1]), radius: +m[3] } : null;
  }

  function initAuthoring(el) {
    var form = document.getElementById("alert-form");
    var polyIn = document.getElementById("polygon");
    var circleIn = document.getElementById("circle");
    var divIn = document.getElementById("divisions");
    var box = document.getElementById("reach-box");
    var hint = document.getElementById("draw-hint");
    var finishBtn = document.getElementById("draw-finish");
    var zh = (el.getAttribute("data-lang") || "zh").indexOf("zh") === 0;
    var say = function (z, e) { hint.textContent = zh ? z : e; };

    baseMap(el, function (map) {
      var shapes = L.featureGroup().addTo(map);
      var mode = null, pts = [], centre = null, timer = null, seq = 0;

      function draw() {
        shapes.clearLayers();
        var poly = mode === "polygon" ? pts : parsePolygon(polyIn.value);
        if (poly.length >= 3) L.polygon(poly, { color: "#c8102e", weight: 2, fillOpacity: 0.15 }).addTo(shapes);
        else if (poly.length) L.polyline(poly, { color: "#c8102e", weight: 2, dashArray: "3 3" }).addTo(shapes);
        poly.forEach(function (p) { L.circleMarker(p, { radius: 3, color: "#c8102e" }).addTo(shapes); });
        var c = parseCircle(circleIn.value);
        if (c) L.circle(c.centre, { radius: c.radius, color: "#c8102e", weight: 2, fillOpacity: 0.15 }).addTo(shapes);
        if (centre) L.circleMarker(centre, { radius: 4, color: "#c8102e" }).addTo(shapes);
      }

      // The reach preview follows the area; a late answer never overwrites a newer one.
      function preview() {
        clearTimeout(timer);
        timer = setTimeout(function () {
          var mine = ++seq;
          var body = new URLSearchParams(new FormData(form));
          fetch("/alerts/new/reach", {
            method: "POST",
            credentials: "same-origin",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: body.toString(),
          })
            .then(function (r) { return r.text(); })
            .then(function (html) { if (mine === seq) box.innerHTML = html; })
            .catch(function () {});
        }, 250);
      }

      function stop() {
        mode = null;
        centre = null;
        finishBtn.hidden = true;
        map.doubleClickZoom.enable();
        el.classList.remove("drawing");
      }

      function start(m) {
        stop();
        mode = m;
        el.classList.add("drawing");
        map.doubleClickZoom.disable();
        if (m === "polygon") {
          pts = [];
          polyIn.value = "";
          finishBtn.hidden = false;
          say("单击地图依次添加顶点，至少 3 个；完成后点“完成”或双击。", "Click the corners (at least 3); then Done or double-click.");
        } else {
          circleIn.value = "";
          say("单击圆心，再单击圆的边缘。", "Click the centre, then the edge.");
        }
        draw();
        preview();
      }

      map.on("click", function (e) {
        if (mode === "polygon") {
          // The two clicks of a double-click must not add a vertex twice.
          var last = pts[pts.length - 1];
          if (last && map.latLngToContainerPoint(last).distanceTo(e.containerPoint) < 4) return;
          pts.push(e.latlng);
          if (pts.length >= 3) {
            polyIn.value = pts.map(function (p) { return fmt(p.lng) + "," + fmt(p.lat); }).join(" ");
            preview();
          }
          draw();
        } else if (mode === "circle") {
          if (!centre) {
            centre = e.latlng;
            say("再单击圆的边缘确定半径。", "Now click the edge to set the radius.");
            draw();
          } else {
            var r = Math.max(50, Math.round(map.distance(centre, e.latlng)));
            circleIn.value = fmt(centre.lng) + "," + fmt(centre.lat) + " " + r;
            stop();
            say("", "");
            draw();
            preview();
          }
        }
      });
      map.on("dblclick", function () {
        if (mode === "polygon") { stop(); say("", ""); draw(); }
      });

      document.getElementById("draw-polygon").addEventListener("click", function () { start("polygon"); });
      document.getElementById("draw-circle").addEventListener("click", function () { start("circle"); });
      finishBtn.addEventListener("click", function () { stop(); say("", ""); draw(); });
      document.getElementById("draw-clear").addEventListener("click", function () {
        stop();
        pts = [];
        polyIn.value = "";
        circleIn.value = "";
        say("", "");
        draw();
        preview();
      });

      // Division nodes: ticking one writes its code into the codes field.
      Array.prototype.forEach.call(document.querySelectorAll(".division-pick"), function (cb) {
        cb.addEventListener("change", function () {
          var codes = divIn.value.split(/[,，\s]+/).filter(function (s) { return s; });
          var i = codes.indexOf(cb.value);
          if (cb.checked && i < 0) codes.push(cb.value);
          if (!cb.checked && i >= 0) codes.splice(i, 1);
          divIn.value = codes.join(",");
          preview();
        });
      });
      [divIn, polyIn, circleIn].forEach(function (inp) {
        inp.addEventListener("change", function () { draw(); preview(); });
      });

      draw();
      if (shapes.getLayers().length) map.fitBounds(shapes.getBounds(), { padding: [20, 20], maxZoom: 15 });
      if (divIn.value || polyIn.value || circleIn.value) preview();
    });
  }

  function initPublic(el) {
    baseMap(el, function (map, districts) {
      var shapes = L.featureGroup().addTo(map);
      var first = true;
      function load() {
        fetch(el.getAttribute("data-areas"), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { features: [] }; })
          .then(function (fc) {
            shapes.clearLayers();
            fc.features.forEach(function (f) {
              var p = f.properties;
              var style = { color: COLOURS[p.colour] || "#1565c0", weight: 2, fillOpacity: 0.2 };
              var tip = p.headline + (p.area_desc ? " · " + p.area_desc : "");
              var layers = [];
              if (p.kind === "circle") {
                layers.push(L.circle([f.geometry.coordinates[1], f.geometry.coordinates[0]], L.extend({ radius: p.radius_m }, style)));
              } else if (p.kind === "districts") {
                (p.districts || []).forEach(function (code) {
                  if (districts[code]) layers.push(L.geoJSON(districts[code], { style: style }));
                });
              } else if (f.geometry) {
                layers.push(L.geoJSON(f.geometry, { style: style }));
              }
              layers.forEach(function (l) {
                l.bindTooltip(tip);
                l.on("click", function () { window.location.href = "/public/alerts/" + p.id; });
                l.addTo(shapes);
              });
            });
            el.setAttribute("data-shapes", String(shapes.getLayers().length));
            if (first && shapes.getLayers().length) map.fitBounds(shapes.getBounds(), { padding: [12, 12], maxZoom: 15 });
            first = false;
          })
          .catch(function () {});
      }
      window.tongxinAlertAreas = load;
      load();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.L) return;
    var a = document.getElementById("area-map");
    if (a) initAuthoring(a);
    var p = document.getElementById("alerts-map");
    if (p) initPublic(p);
  });
})();
