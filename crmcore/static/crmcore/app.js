// PilotCRM's only script, loaded from a file so that the Content-Security-Policy
// needs no inline script. A form with data-confirm="question" asks before it is sent.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// Header drop-downs (<details class="nav-group">) work without this script;
// it only closes an open one when the user clicks elsewhere or presses Escape.
function closeNavGroups(except) {
  document.querySelectorAll("details.nav-group[open]").forEach(function (group) {
    if (group !== except) {
      group.removeAttribute("open");
    }
  });
}
document.addEventListener("click", function (event) {
  closeNavGroups(event.target.closest ? event.target.closest("details.nav-group") : null);
});
document.addEventListener("keydown", function (event) {
  if (event.key === "Escape") {
    closeNavGroups(null);
  }
});
