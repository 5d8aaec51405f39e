// Optional speed-up for the roster: forms marked data-async are sent with fetch and the shift's
// card is replaced by the server's re-rendered one, so the page does not reload. Without
// JavaScript (or on any network error) the same forms post and reload the page normally.
(function () {
  "use strict";
  function message(card, text, isError) {
    var box = card && card.querySelector(".row-msg");
    if (!box) { return false; }
    box.textContent = text;
    box.classList.toggle("error", !!isError);
    return true;
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-async]") || !window.fetch) { return; }
    var card = form.closest(".shift-card");
    if (!card) { return; }
    event.preventDefault();
    var data = new FormData(form);
    if (event.submitter && event.submitter.name) { data.append(event.submitter.name, event.submitter.value); }
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    // getAttribute: a field named "action" shadows the form.action property.
    fetch(form.getAttribute("action") || window.location.href, { method: "POST", body: data, headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (body) { return { status: response.status, body: body }; });
      })
      .then(function (result) {
        if (result.body.ok) {
          var holder = document.createElement("div");
          holder.innerHTML = result.body.html;
          var fresh = holder.firstElementChild;
          card.replaceWith(fresh);
          message(fresh, result.body.message, false);
        } else {
          buttons.forEach(function (b) { b.disabled = false; });
          message(card, (result.body.error || result.body).message, true);  // the error body of responses.violation_json
        }
      })
      .catch(function () {
        // Not a JSON answer (e.g. a refused or expired session): let the browser post it normally.
        form.removeAttribute("data-async");
        buttons.forEach(function (b) { b.disabled = false; });
        if (form.requestSubmit) { form.requestSubmit(event.submitter || undefined); } else { form.submit(); }
      });
  });
})();
