// The plugin upload form with a progress bar: the same POST as without JavaScript, sent by XMLHttpRequest.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("upload-form");
  if (!form) { return; }
  var bar = document.getElementById("upload-progress"), out = document.getElementById("upload-result");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    bar.hidden = false; bar.value = 0; out.textContent = "Uploading…"; out.className = "";
    xhr.upload.onprogress = function (e) { if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); } };
    xhr.upload.onload = function () { bar.value = 100; out.textContent = "Installing…"; };
    xhr.onload = function () {
      var answer;
      try { answer = JSON.parse(xhr.responseText); } catch (err) { answer = { ok: false, message: "The server answered " + xhr.status + "." }; }
      out.textContent = answer.message;
      out.className = answer.ok ? "notice" : "error";
      if (answer.ok) { setTimeout(function () { window.location.reload(); }, 800); }
    };
    xhr.onerror = function () { out.textContent = "The upload failed: the server could not be reached."; out.className = "error"; };
    xhr.send(new FormData(form));
  });
});
