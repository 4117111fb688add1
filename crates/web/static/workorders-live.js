// Live work-order list: refresh the rows when a work-order event arrives (SSE, resumable).
(function () {
  if (!window.EventSource) return;
  var es = new EventSource("/events?topics=workorders");
  var pending = null;
  es.onmessage = null;
  function refresh() {
    if (pending) return;
    pending = setTimeout(function () {
      pending = null;
      document.body.dispatchEvent(new Event("wo-refresh"));
    }, 300);
  }
  ["created", "dispatch", "accept", "return", "start", "extend", "answer", "rate", "close", "reopen", "escalated"].forEach(function (k) {
    es.addEventListener("workorders." + k, refresh);
  });
  var st = document.getElementById("live-state");
  es.onopen = function () { if (st) st.classList.add("ok"); };
  es.onerror = function () { if (st) st.classList.remove("ok"); };
})();
