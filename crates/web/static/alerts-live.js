// Public alerts page: reload the list when an alert event arrives (SSE /public/events), and
// every 30 s as a fallback. No inline script (CSP).
(function () {
  var box = document.getElementById('public-list');
  if (!box) return;
  var division = box.getAttribute('data-division') || '';
  function reload() {
    fetch('/public/alerts/list?division=' + encodeURIComponent(division), { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) box.innerHTML = html; })
      .then(function () { if (window.tongxinAlertAreas) window.tongxinAlertAreas(); })
      .catch(function () {});
  }
  if (window.EventSource) {
    var es = new EventSource('/public/events?topics=alert');
    es.onmessage = reload;
    ['issued', 'updated', 'cancelled', 'superseded'].forEach(function (k) { es.addEventListener('alert.' + k, reload); });
  }
  setInterval(reload, 30000);
})();
