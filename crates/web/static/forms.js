// Double-submit protection for every form: each POST form carries a one-time key (`_idem`, and
// the Idempotency-Key header for htmx requests). A second click, or a resend while the first is
// still on its way, carries the same key, so the server answers it with the first response
// instead of doing the work twice. A new page (or a finished htmx request) gets a new key.
(function () {
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }
  function arm(root) {
    if (!root || !root.querySelectorAll) return;
    var forms = root.tagName === "FORM" ? [root] : root.querySelectorAll("form");
    Array.prototype.forEach.call(forms, function (f) {
      var m = (f.getAttribute("method") || f.getAttribute("hx-post") && "post" || "").toLowerCase();
      if (m !== "post" || f.querySelector('input[name="_idem"]')) return;
      var i = document.createElement("input");
      i.type = "hidden";
      i.name = "_idem";
      i.value = newKey();
      f.appendChild(i);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { arm(document); });
  document.addEventListener("htmx:load", function (e) { arm(e.target); });
  document.addEventListener("htmx:configRequest", function (e) {
    var f = e.detail.elt && e.detail.elt.closest && e.detail.elt.closest("form");
    var k = f && f.querySelector('input[name="_idem"]');
    if (k) e.detail.headers["Idempotency-Key"] = k.value;
  });
  // Once answered, the form may be sent again on purpose (e.g. corrected after an error).
  document.addEventListener("htmx:afterRequest", function (e) {
    var f = e.detail.elt && e.detail.elt.closest && e.detail.elt.closest("form");
    var k = f && f.querySelector('input[name="_idem"]');
    if (k) k.value = newKey();
  });
  // Back/forward cache: a page shown again must not resend the key it already used.
  window.addEventListener("pageshow", function (e) {
    if (!e.persisted) return;
    Array.prototype.forEach.call(document.querySelectorAll('input[name="_idem"]'), function (i) { i.value = newKey(); });
  });
})();
