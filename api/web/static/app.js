// Commonshelf gateway: small enhancements; every page works without them.
(function () {
  "use strict";
  var KEY = "commonshelf.focus";
  // Facet checkboxes apply at once; focus returns to the same checkbox on
  // the new page, so keyboard users keep their place.
  document.querySelectorAll("form.facetform").forEach(function (form) {
    form.addEventListener("change", function (ev) {
      var t = ev.target;
      if (t && t.type === "checkbox") {
        try { sessionStorage.setItem(KEY, t.name + "=" + t.value); } catch (e) {}
        form.submit();
      }
    });
  });
  // The deep-linking answer goes back to the learning platform at once.
  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) { form.submit(); });
  var saved = null;
  try { saved = sessionStorage.getItem(KEY); sessionStorage.removeItem(KEY); } catch (e) {}
  if (saved) {
    var i = saved.indexOf("=");
    var name = saved.slice(0, i), value = saved.slice(i + 1);
    document.querySelectorAll("form.facetform input[type=checkbox]").forEach(function (box) {
      if (box.name === name && box.value === value) { box.focus(); }
    });
  }
})();
