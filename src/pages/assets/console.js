// Conveniences only: every page works without this file.
(function () {
  "use strict";
  // Times: the reader's local time; the exact UTC stays in the title (shown on hover).
  document.querySelectorAll("time[datetime]").forEach(function (t) {
    var d = new Date(t.getAttribute("datetime"));
    if (isNaN(d.getTime())) return;
    t.title = t.getAttribute("datetime").replace("T", " ").replace("Z", " UTC");
    t.textContent = d.toLocaleString(undefined, {
      year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"
    });
  });
  // Copy buttons: hidden without JavaScript, they copy the element they name.
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () {
      var source = document.getElementById(b.getAttribute("data-copy"));
      if (!source) return;
      var text = source.textContent;
      var done = function () { b.textContent = "Copied"; b.setAttribute("data-copied", "1"); };
      // Without the clipboard API (or its permission), the text is selected and copied
      // the old way; at worst it stays selected for the person to copy.
      var fallback = function () {
        select(source);
        try { if (document.execCommand("copy")) done(); } catch (e) { /* selected */ }
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, fallback);
      } else {
        fallback();
      }
    });
  });
  function select(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
  // The expiry choice: the date field only when "a date" is chosen.
  var expiry = document.getElementById("expiry");
  var date = document.getElementById("expiry-date-field");
  if (expiry && date) {
    var sync = function () { date.hidden = expiry.value !== "date"; };
    expiry.addEventListener("change", sync);
    sync();
  }
})();
