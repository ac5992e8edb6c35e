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

// Search-as-you-type: forms marked data-live-search fetch the results block as the user types.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-live-search]").forEach(function (form) {
    var url = form.getAttribute("data-live-search");
    var timer = null;
    var seq = 0;
    function refresh() {
      var params = new URLSearchParams(new FormData(form));
      var mine = ++seq;
      fetch(url + "?" + params.toString(), { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null || mine !== seq) { return; }
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById("resultats");
          var old = document.getElementById("resultats");
          if (fresh && old) { old.replaceWith(document.importNode(fresh, true)); }
          history.replaceState(null, "", form.getAttribute("action") + "?" + params.toString());
        })
        .catch(function () { /* the submit button still works */ });
    }
    form.querySelectorAll("input").forEach(function (input) {
      input.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(refresh, 250);
      });
    });
  });
});
