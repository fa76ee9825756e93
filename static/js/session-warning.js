/* A quiet warning a minute before the signed-in session ends (templates/auth/_session_warning.html).
   The server decides when a session ends; this only tells the person in time. Asking how long is
   left (the X-Session-Peek header) is not activity; "Stay signed in" and typing are. */
(function () {
  "use strict";
  var box = document.getElementById("session-warning");
  if (!box || !window.fetch || !("content" in document.createElement("template"))) {
    return;
  }
  var live = box.querySelector("[role=status]");
  var timers = [];
  var lastActivity = Date.now();

  function show(name) {
    var template = document.getElementById("session-warning-" + name);
    live.replaceChildren(template.content.cloneNode(true));
    var stay = live.querySelector("[data-stay-signed-in]");
    if (stay) {
      stay.addEventListener("click", function () { ask(false); });
    }
  }

  // A check a minute before the end (unless the warning shows already), and one just after it.
  function plan(secondsLeft, warned) {
    timers.forEach(clearTimeout);
    timers = [setTimeout(function () { ask(true); }, (secondsLeft + 1) * 1000)];
    if (!warned) {
      timers.push(setTimeout(function () { ask(true); }, Math.max(0, secondsLeft - 60) * 1000));
    }
  }

  // peek: only ask (another tab may have been in use); otherwise this is activity.
  function ask(peek) {
    var headers = { "Accept": "application/json" };
    if (peek) {
      headers["X-Session-Peek"] = "1";
    } else {
      lastActivity = Date.now();
    }
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: headers })
      .then(function (response) { return response.json(); })
      .then(function (status) {
        if (!status.signed_in) {
          timers.forEach(clearTimeout);
          show("ended");
        } else if (peek && status.seconds_left <= 65) {
          show(status.ends_by);
          plan(status.seconds_left, true);
        } else {
          live.replaceChildren();
          plan(status.seconds_left, false);
        }
      })
      .catch(function () { /* offline for a moment: the server still decides */ });
  }

  // Typing a long message is activity too: tell the server now and then.
  document.addEventListener("input", function () {
    if (Date.now() - lastActivity > 120000) {
      ask(false);
    }
  });

  plan(Number(box.dataset.secondsLeft), false);
})();
