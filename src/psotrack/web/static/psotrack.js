// psotrack's page scripts: plain JavaScript served from the package (no CDN, no inline script).
// Each feature starts from data attributes, so a page without them runs nothing.
"use strict";

/** The CSRF token of this page's session (every page's forms carry it). */
function psotrackCsrfToken() {
  const field = document.querySelector('input[name="csrf_token"]');
  return field ? field.value : "";
}
