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

// The contact list's bulk bar: each action's own choice (owner, team, campaign)
// is shown only while that action is chosen. Without this script all are shown.
function showBulkChoice(bar) {
  var action = bar.querySelector("select[name=action]");
  if (!action) {
    return;
  }
  bar.querySelectorAll("[data-bulk-for]").forEach(function (choice) {
    choice.hidden = choice.getAttribute("data-bulk-for") !== action.value;
  });
}
document.querySelectorAll("[data-testid=bulk-bar]").forEach(function (bar) {
  showBulkChoice(bar);
  bar.addEventListener("change", function (event) {
    if (event.target.name === "action") {
      showBulkChoice(bar);
    }
  });
});
