// Bordin pages: small progressive enhancements. Every page works without JavaScript.
(function () {
  "use strict";

  // Client form: an item asked only after another answer (e.g. "was the tension resolved?")
  // is hidden while it does not apply. Without JavaScript it stays visible and optional.
  function updateConditional(form) {
    form.querySelectorAll("[data-asked-if]").forEach(function (fieldset) {
      var name = fieldset.getAttribute("data-asked-if");
      var min = parseFloat(fieldset.getAttribute("data-asked-if-min"));
      var chosen = form.querySelector('input[name="' + name + '"]:checked');
      var applies = chosen !== null && parseFloat(chosen.value) >= min;
      fieldset.hidden = !applies;
      if (!applies) {
        fieldset.querySelectorAll("input").forEach(function (input) {
          input.checked = false;
        });
      }
    });
  }

  // The numbers shown stay consecutive while an item is hidden (7, 8, not 7, 9); the
  // fields keep their item numbers. An error summary's "Question 9" follows its item.
  function renumber(form) {
    var shown = 0;
    form.querySelectorAll(".item .number").forEach(function (span) {
      if (!span.hasAttribute("data-number")) {
        span.setAttribute("data-number", span.textContent.replace(".", "").trim());
      }
      if (!span.closest(".item").hidden) {
        shown += 1;
        span.textContent = shown + ".";
      }
    });
    document.querySelectorAll(".error-summary a[href^='#']").forEach(function (link) {
      var span = form.querySelector(link.getAttribute("href") + " .number");
      if (!span || !span.hasAttribute("data-number")) {
        return;
      }
      if (!link.hasAttribute("data-text")) {
        link.setAttribute("data-text", link.textContent);
      }
      var number = new RegExp("\\b" + span.getAttribute("data-number") + "\\b");
      var shownNumber = span.textContent.replace(".", "");
      link.textContent = link.getAttribute("data-text").replace(number, shownNumber);
    });
  }

  document.querySelectorAll("form.client-form, form.quick-check").forEach(function (form) {
    updateConditional(form);
    renumber(form);
    form.addEventListener("change", function () {
      updateConditional(form);
      renumber(form);
    });
  });

  // Copy a form link to the clipboard.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = document.getElementById(button.getAttribute("data-copy")).textContent.trim();
      if (navigator.clipboard) {
        navigator.clipboard.writeText(text).then(function () {
          var status = document.getElementById(button.getAttribute("data-status"));
          if (status) {
            status.textContent = "Link copied.";
          }
        });
      }
    });
  });

  // Focus the error summary after a failed submission, so screen readers announce it.
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.focus();
  }
})();
