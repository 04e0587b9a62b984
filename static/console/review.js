// chatadmin console: the review item's action panel (templates/console/review/item.html).
// One form, one submit button per action: a button with data-confirm="text" asks first
// ("{duration}" in the text becomes the chosen duration); Escape in a text field of the
// panel leaves it, so the single-key shortcuts work again. No build step.
(function () {
  "use strict";
  function chosenDuration(form) {
    var checked = form.querySelector('input[name="duration"]:checked');
    if (!checked) { return "no duration chosen"; }
    if (checked.value === "custom") {
      var minutes = form.querySelector('input[name="minutes"]');
      return (minutes && minutes.value ? minutes.value : "?") + " min";
    }
    var label = form.querySelector('label[for="' + CSS.escape(checked.id) + '"]');
    return label ? label.textContent.trim() : checked.value;
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("form.review-actions button[data-confirm]");
    if (!button) { return; }
    var text = button.getAttribute("data-confirm").replace("{duration}", chosenDuration(button.form));
    if (!window.confirm(text)) { event.preventDefault(); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var field = event.target;
    if (field.matches && field.matches("form.review-actions input[type=text], form.review-actions input[type=number]")) {
      field.blur();
    }
  });
})();
