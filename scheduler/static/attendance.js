// The attendance sheet's one convenience: "Mark everyone present" (the sheet works without it).
// It only checks radio buttons; nothing is saved until the person presses Save attendance.
(function () {
  "use strict";

  var tools = document.querySelector("[data-mark-all-tools]");
  var form = document.getElementById("sheet");
  if (!tools || !form) return;
  var button = tools.querySelector("[data-mark-all]");
  var status = tools.querySelector("[data-mark-all-status]");
  tools.hidden = false;
  button.addEventListener("click", function () {
    var radios = form.querySelectorAll('input[type="radio"][value="present"]:not(:disabled)');
    radios.forEach(function (radio) { radio.checked = true; });
    // The sentence comes from the page, in its language: {n} is the count.
    var sentence = radios.length === 1 ? status.dataset.one : status.dataset.many;
    status.textContent = sentence.replace("{n}", String(radios.length));
  });
})();
