// Progressive enhancement: a "Copy address" button next to each calendar address. Without
// JavaScript (or without the clipboard API) the button stays hidden and the address field,
// which selects itself on focus, is copied by hand.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("button[data-copy]");
  Array.prototype.forEach.call(buttons, function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) { return; }
    field.addEventListener("focus", function () { field.select(); });
    if (!navigator.clipboard || !window.isSecureContext) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var status = button.closest(".field").querySelector(".copy-status");
      navigator.clipboard.writeText(field.value).then(function () {
        if (status) { status.textContent = button.getAttribute("data-copied"); }
      }, function () {
        field.focus();
        field.select();
      });
    });
  });
}());
