// Quittance: small progressive enhancements; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // The establishment/site switcher submits as soon as a choice changes.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
    sel.addEventListener("change", function () {
      var form = sel.form;
      if (sel.name === "establishment_id") {
        var site = form.querySelector("select[name=site_id]");
        if (site) { site.value = ""; }
      }
      var back = form.querySelector("input[name=back]");
      if (back) { back.value = window.location.pathname; }
      form.submit();
    });
  });
  // Focus the error summary so screen readers and keyboards land on it.
  var summary = document.querySelector(".error-summary[tabindex]");
  if (summary) { summary.focus(); }
});
