// Starts Swagger UI on /api/docs (a file, not an inline script: the page's
// Content-Security-Policy allows scripts from the platform only).
"use strict";

(function start() {
  const root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.dataset.openapi,
    domNode: root,
    layout: "BaseLayout",
    presets: [window.SwaggerUIBundle.presets.apis],
    deepLinking: true,
    // The token pasted in Authorize survives a reload (kept in this browser only).
    persistAuthorization: true,
    displayRequestDuration: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    filter: true,
    // No badge from validator.swagger.io: the page asks no other host for anything.
    validatorUrl: null,
  });
})();
