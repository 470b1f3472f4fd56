// Helpers shared by config.html and instance.html, served from the plugin's pluginMedia/ folder.
var {{name}}Media = {
  formData: function (form) {
    var data = {};
    Array.prototype.forEach.call(form.elements, function (field) {
      if (field.name) { data[field.name] = field.value; }
    });
    return data;
  },
  fillForm: function (form, values) {
    Object.keys(values).forEach(function (key) {
      if (form.elements[key]) { form.elements[key].value = values[key]; }
    });
  },
  // JSON to the API with the browser's session; true when the server accepted it.
  send: function (method, url, body) {
    return fetch(url, {method: method, credentials: "same-origin",
                       headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)})
      .then(function (response) { return response.ok; }, function () { return false; });
  }
};
