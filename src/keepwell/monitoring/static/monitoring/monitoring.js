// The monitoring pages: copy buttons for ping URLs, and showing only the options of the chosen kind.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var text = button.getAttribute("data-copy");
        var done = function () {
          var label = button.textContent;
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = label; }, 1500);
        };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(text).then(done);
        }
      });
    });

    var form = document.querySelector("form.monitor-form, form.heartbeat-form");
    if (!form) return;
    var groups = form.querySelectorAll(".kind-options[data-kind]");
    function chosenKind() {
      var select = form.querySelector("select[name=kind]");
      if (select) return select.value;
      var radio = form.querySelector("input[name=kind]:checked");
      return radio ? radio.value : "";
    }
    function update() {
      var kind = chosenKind();
      groups.forEach(function (group) { group.hidden = group.getAttribute("data-kind") !== kind; });
    }
    form.querySelectorAll("[name=kind]").forEach(function (input) { input.addEventListener("change", update); });
    update();
  });
})();
