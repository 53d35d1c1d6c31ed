// Kiosk mode: return to the kiosk's locked screen when the page's time is up.
// The server locks the kiosk after the same time without a request; this only makes the
// screen follow without a tap. No other script, no network use besides the navigation.
(function () {
  "use strict";
  var seconds = Number(document.body.getAttribute("data-kiosk-timeout"));
  if (!seconds || seconds <= 0) {
    return;
  }
  window.setTimeout(function () {
    window.location.replace("/kiosk");
  }, seconds * 1000);
})();
