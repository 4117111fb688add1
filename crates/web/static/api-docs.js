// Starts the vendored Swagger UI on the generated OpenAPI document (kept out of the HTML: the
// Content-Security-Policy allows no inline script).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
});
