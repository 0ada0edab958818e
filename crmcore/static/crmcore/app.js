// PilotCRM's only script, loaded from a file so that the Content-Security-Policy
// needs no inline script. A form with data-confirm="question" asks before it is sent.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
