// Every htmx request carries the session's CSRF token; dialogs open and close with their buttons.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRFToken"] = meta.content; }
});
document.addEventListener("click", function (event) {
  var opener = event.target.closest("[data-open-dialog]");
  if (opener) {
    var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
    var frame = dialog && dialog.querySelector("iframe[data-src]");
    if (frame && opener.getAttribute("data-src")) { frame.src = opener.getAttribute("data-src"); }
    if (dialog) { event.preventDefault(); dialog.showModal(); }
  }
  var closer = event.target.closest("[data-close-dialog]");
  if (closer) { closer.closest("dialog").close(); }
});
