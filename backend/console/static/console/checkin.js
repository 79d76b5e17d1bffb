/* The check-in screen: the rotating QR code and the live count (docs/console.md).
 *
 * The code changes every period and is accepted for two. The next one is fetched when the server
 * says it appears (refresh_at); a timer and the page's focus/visibility events compare the wall
 * clock with that time too, so a screen that slept or sat in a background tab catches up at once
 * and never shows a code past its expiry. The count arrives over the notices socket (`watch`),
 * with a short-lived token the page asks the console for; it asks again when the socket closes
 * with 4401 (expired). No token is ever written to the console or the page.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("checkin-config").textContent);
  var qr = document.getElementById("qr");
  var stale = document.getElementById("qr-stale");
  var barFill = document.getElementById("bar-fill");
  var live = document.getElementById("live");
  var signedOut = document.getElementById("signed-out");

  var code = null;
  var clockOffset = 0; // server time minus local time, in ms
  var fetching = false;
  var fetchRetry = 0;
  var fetchTimer = null;

  function serverNow() {
    return Date.now() + clockOffset;
  }

  function showCode(next, receivedAt) {
    code = next;
    code.refreshAtMs = Date.parse(next.refresh_at);
    code.expiresAtMs = Date.parse(next.expires_at);
    // The server stamped issued_at as it answered: near enough to align the clocks.
    clockOffset = Date.parse(next.issued_at) - receivedAt;
    if (qr.getAttribute("src") !== next.qr_png) {
      qr.setAttribute("src", next.qr_png);
    }
    qr.dataset.refreshAt = next.refresh_at;
    stale.hidden = true;
    qr.classList.remove("expired");
    scheduleFetch();
  }

  function scheduleFetch() {
    clearTimeout(fetchTimer);
    // A little after the new code appears, so the server is sure to hand it out.
    var wait = Math.max(0, code.refreshAtMs - serverNow() + 150);
    fetchTimer = setTimeout(fetchCode, wait);
  }

  function fetchCode() {
    if (fetching) return;
    fetching = true;
    clearTimeout(fetchTimer);
    fetch(config.codeUrl, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) {
          signedOut.hidden = false;
          throw new Error("signed out");
        }
        if (!response.ok) throw new Error("status " + response.status);
        var receivedAt = Date.now();
        return response.json().then(function (body) {
          fetchRetry = 0;
          showCode(body, receivedAt);
        });
      })
      .catch(function () {
        fetchRetry = Math.min(fetchRetry + 1, 5);
        clearTimeout(fetchTimer);
        fetchTimer = setTimeout(fetchCode, 1000 * fetchRetry);
      })
      .then(function () {
        fetching = false;
      });
  }

  // Runs on a timer and whenever the page comes back: a suspended machine fires no timeouts.
  function check() {
    if (!code) return;
    var now = serverNow();
    if (now >= code.expiresAtMs) {
      // Never leave a refused code up for people to scan.
      stale.hidden = false;
      qr.classList.add("expired");
    }
    if (now >= code.refreshAtMs) {
      fetchCode();
    }
    var period = code.period_seconds * 1000;
    var left = Math.max(0, Math.min(period, code.refreshAtMs - now));
    barFill.style.width = (100 * left) / period + "%";
  }

  setInterval(check, 500);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      check();
      ensureSocket();
    }
  });
  window.addEventListener("focus", check);
  window.addEventListener("pageshow", check);
  window.addEventListener("online", function () {
    check();
    ensureSocket();
  });

  // The live count ---------------------------------------------------------------------------

  var socket = null;
  var socketRetry = 0;
  var pingTimer = null;
  var reconnectTimer = null;

  function setLive(state, text) {
    live.dataset.state = state;
    live.textContent = text;
  }

  function showCounts(counts) {
    var fields = { "count-checked-in": "checked_in", "count-enrolled": "enrolled", "count-checked-out": "checked_out", "count-on-leave": "on_leave" };
    Object.keys(fields).forEach(function (id) {
      var value = counts[fields[id]];
      if (typeof value === "number") document.getElementById(id).textContent = String(value);
    });
  }

  function catchUp() {
    fetch(config.countsUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (counts) {
        if (counts) showCounts(counts);
      })
      .catch(function () {});
  }

  function socketToken() {
    return fetch(config.tokenUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": config.csrfToken, Accept: "application/json" },
    }).then(function (response) {
      if (response.status === 401 || response.status === 403) {
        signedOut.hidden = false;
        throw new Error("signed out");
      }
      if (!response.ok) throw new Error("status " + response.status);
      return response.json();
    });
  }

  function reconnectLater() {
    clearTimeout(reconnectTimer);
    var delay = Math.min(30000, 1000 * Math.pow(2, socketRetry++)) * (0.5 + Math.random() / 2);
    reconnectTimer = setTimeout(connect, delay);
  }

  function connect() {
    clearTimeout(reconnectTimer);
    if (socket) return;
    setLive("connecting", "正在连接…");
    socketToken()
      .then(function (body) {
        var scheme = location.protocol === "https:" ? "wss://" : "ws://";
        var ws = new WebSocket(scheme + location.host + config.socketPath + "?token=" + encodeURIComponent(body.token));
        socket = ws;
        ws.onmessage = function (event) {
          var message;
          try {
            message = JSON.parse(event.data);
          } catch (error) {
            return;
          }
          if (message.type === "hello") {
            ws.send(JSON.stringify({ type: "watch", activity_id: config.activityId }));
            clearInterval(pingTimer);
            pingTimer = setInterval(function () {
              if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping" }));
            }, 25000);
          } else if (message.type === "watching" && message.activity_id === config.activityId) {
            socketRetry = 0;
            setLive("live", "实时");
            catchUp();
          } else if (message.type === "event" && message.event === "attendance.changed") {
            if (message.data && message.data.activity_id === config.activityId) showCounts(message.data);
          } else if (message.type === "error" && message.request === "watch") {
            setLive("error", "无法获取实时人数");
          }
        };
        ws.onclose = function (event) {
          if (socket !== ws) return;
          socket = null;
          clearInterval(pingTimer);
          setLive("connecting", "连接中断, 正在重连…");
          if (event.code === 4401) {
            // The short-lived token ran out: a fresh one, right away.
            socketRetry = 0;
            connect();
          } else {
            reconnectLater();
          }
        };
      })
      .catch(function () {
        socket = null;
        setLive("connecting", "连接中断, 正在重连…");
        if (signedOut.hidden) reconnectLater();
      });
  }

  function ensureSocket() {
    if (!socket && signedOut.hidden) connect();
  }

  document.getElementById("fullscreen").addEventListener("click", function () {
    var screen = document.documentElement;
    if (document.fullscreenElement) {
      document.exitFullscreen();
    } else if (screen.requestFullscreen) {
      screen.requestFullscreen().catch(function () {});
    }
  });

  showCode(config.code, Date.now());
  showCounts(config.counts);
  check();
  connect();
})();
