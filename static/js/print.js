// Printed forms (templates/print/): the Print button opens the browser's print dialog.
// A script of its own, not an inline one: the Content-Security-Policy forbids those.
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    if (e.target && e.target.closest && e.target.closest("[data-print]")) window.print();
  });
})();
