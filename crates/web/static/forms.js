// Double-submit protection: when a form is submitted, it carries a one-time key (the `_idem`
// field for a normal submit, the Idempotency-Key header for an htmx submit). A second click or
// a resend while the first is still on its way carries the same key, so the server answers it
// with the first response instead of doing the work twice. Other htmx requests of a form (live
// previews on change) carry no key: their bodies differ from one to the next.
(function () {
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }
  function pending(form) {
    if (!form.dataset.idem) form.dataset.idem = newKey();
    return form.dataset.idem;
  }
  // Normal submits: capture phase, before the browser serialises the form.
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (!f || f.tagName !== "FORM" || (f.getAttribute("method") || "").toLowerCase() !== "post") return;
    if (f.hasAttribute("hx-post")) return; // htmx sends it as a header below
    var i = f.querySelector('input[name="_idem"]');
    if (!i) {
      i = document.createElement("input");
      i.type = "hidden";
      i.name = "_idem";
      f.appendChild(i);
    }
    i.value = pending(f);
  }, true);
  document.addEventListener("htmx:configRequest", function (e) {
    var ev = e.detail.triggeringEvent;
    var f = e.detail.elt && e.detail.elt.closest && e.detail.elt.closest("form");
    if (!f || !ev || ev.type !== "submit") return;
    e.detail.headers["Idempotency-Key"] = pending(f);
  });
  // Once answered, the form may be sent again on purpose (e.g. corrected after an error).
  document.addEventListener("htmx:afterRequest", function (e) {
    var f = e.detail.elt && e.detail.elt.closest && e.detail.elt.closest("form");
    if (f) delete f.dataset.idem;
  });
  // Back/forward cache: a page shown again must not resend the key it already used.
  window.addEventListener("pageshow", function (e) {
    if (!e.persisted) return;
    Array.prototype.forEach.call(document.querySelectorAll("form"), function (f) { delete f.dataset.idem; });
  });
})();
