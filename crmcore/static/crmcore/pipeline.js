// Drag a deal card to another column of the pipeline. The drop sends the
// card's own stage form (the one that works without JavaScript), with the
// column's stage chosen: the server moves the deal, records it, and shows the
// pipeline again with its totals. Loaded from a file: the CSP allows no inline script.
(function () {
  "use strict";
  var dragged = null;

  function column(target) {
    return target && target.closest ? target.closest(".pipeline-column[data-stage]") : null;
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".deal-card[data-deal]");
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-deal"));
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    document.querySelectorAll(".pipeline-column.drop-target").forEach(function (el) {
      el.classList.remove("drop-target");
    });
  });

  document.addEventListener("dragover", function (event) {
    var target = column(event.target);
    if (!dragged || !target) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    target.classList.add("drop-target");
  });

  document.addEventListener("dragleave", function (event) {
    var target = column(event.target);
    if (target && !target.contains(event.relatedTarget)) target.classList.remove("drop-target");
  });

  document.addEventListener("drop", function (event) {
    var target = column(event.target);
    if (!dragged || !target) return;
    event.preventDefault();
    var form = dragged.querySelector("form.stage-move");
    var stage = target.getAttribute("data-stage");
    if (!form || form.elements.stage.value === stage) return;
    form.elements.stage.value = stage;
    target.appendChild(dragged);
    dragged.classList.add("moving");
    if (form.requestSubmit) form.requestSubmit();
    else form.submit();
  });
})();
