/* Checks a campaign template as it is typed.
 *
 * Every field with data-template-check="<url>" is sent (debounced) to that
 * server-side check, and the problems it reports, each with its line and
 * column, are shown under the field. The form works the same without this
 * script: the server checks the templates again when the form is saved.
 */
(function () {
  "use strict";
  if (!window.fetch || !window.FormData) {
    return;
  }
  var DELAY_MS = 300;

  function show(out, result) {
    out.textContent = "";
    if (!result) {
      return;
    }
    if (result.ok) {
      out.className = "template-check template-check-ok";
      out.textContent = "No problem found.";
      return;
    }
    out.className = "template-check template-check-problems";
    var list = document.createElement("ul");
    result.problems.forEach(function (problem) {
      var item = document.createElement("li");
      item.textContent = problem.text;
      list.appendChild(item);
    });
    out.appendChild(list);
  }

  function watch(input) {
    var url = input.getAttribute("data-template-check");
    if (!url || !input.form) {
      return;
    }
    var out = document.createElement("div");
    out.id = input.id + "-check";
    out.className = "template-check";
    out.setAttribute("aria-live", "polite");
    out.setAttribute("data-testid", "template-check-" + input.name);
    input.insertAdjacentElement("afterend", out);
    var described = input.getAttribute("aria-describedby");
    input.setAttribute("aria-describedby", (described ? described + " " : "") + out.id);
    var timer = null;
    var sent = 0;

    function check() {
      var token = input.form.querySelector("[name=csrfmiddlewaretoken]");
      var body = new FormData();
      body.append(input.name, input.value);
      var mine = ++sent;
      fetch(url, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": token ? token.value : "" },
      })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (data) {
          if (data && mine === sent) {
            show(out, data[input.name]);
          }
        })
        .catch(function () {
          out.textContent = "";
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(check, DELAY_MS);
    });
  }

  document.querySelectorAll("[data-template-check]").forEach(watch);
})();
