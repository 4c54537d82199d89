/* The site's one script. Every page works without it; with it, times show in the
   visitor's time zone, countdowns tick (corrected by the server's clock), a lot's
   price moves live over the WebSocket feed, and bid forms answer in place. */
(function () {
  "use strict";

  var skew = 0; // the server's clock minus this browser's, in ms
  function setSkew(iso) {
    var t = Date.parse(iso);
    if (!isNaN(t)) skew = t - Date.now();
  }
  function now() { return Date.now() + skew; }
  setSkew(document.body.getAttribute("data-server-time"));

  var SYMBOLS = { USD: "$", EUR: "€", GBP: "£", JPY: "¥", CNY: "¥", INR: "₹", KRW: "₩", ILS: "₪",
    NGN: "₦", UAH: "₴", VND: "₫", TRY: "₺", PHP: "₱" };
  var PLACES = { JPY: 0, ISK: 0, CLP: 0, KRW: 0, VND: 0, KWD: 3, BHD: 3, OMR: 3, JOD: 3, TND: 3 };
  function money(cents, currency) {
    if (cents === null || cents === undefined) return "—";
    var places = PLACES.hasOwnProperty(currency) ? PLACES[currency] : 2;
    var sign = cents < 0 ? "-" : "";
    var abs = Math.abs(cents), unit = Math.pow(10, places);
    var whole = Math.floor(abs / unit), fraction = abs % unit;
    var text = whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    if (places) text += "." + String(fraction).padStart(places, "0");
    return SYMBOLS[currency] ? sign + SYMBOLS[currency] + text : sign + text + " " + currency;
  }
  function amountInput(cents, currency) {
    var places = PLACES.hasOwnProperty(currency) ? PLACES[currency] : 2;
    return places ? (cents / Math.pow(10, places)).toFixed(places) : String(cents);
  }
  function duration(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    s = s % 60;
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + String(m).padStart(2, "0") + "m";
    if (m) return m + "m " + String(s).padStart(2, "0") + "s";
    return s + "s";
  }

  function localTimes(root) {
    var format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
    // Lots of a timed sale may close seconds apart: their times show the seconds.
    var precise = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var t = Date.parse(el.getAttribute("datetime"));
      var shown = el.getAttribute("data-local") === "seconds" ? precise : format;
      if (!isNaN(t)) el.textContent = shown.format(new Date(t));
    });
  }

  function tick() {
    dutchTick();
    document.querySelectorAll("[data-ends-at]").forEach(function (el) {
      var end = Date.parse(el.getAttribute("data-ends-at"));
      if (isNaN(end)) return;
      var left = end - now();
      el.textContent = left > 0 ? duration(left) : "ending…";
      el.classList.toggle("soon", left > 0 && left < 5 * 60 * 1000);
    });
  }

  function show(box, message, kind) {
    if (!box) return;
    box.className = "result " + (kind || "info");
    box.textContent = message;
  }

  var lot = document.querySelector("[data-live-auction]");
  var format = lot ? lot.getAttribute("data-format") || "english" : "english";
  var sealed = format === "sealed_first_price" || format === "sealed_second_price";
  function sealedCount(count) {
    if (!count) return "No sealed bids yet";
    return count + " sealed bid" + (count === 1 ? "" : "s");
  }

  // A Dutch lot's price falls by a step at each tick, down to its floor: computed here
  // from its clock and the server's time, as the server computes it, so it falls on
  // screen without asking again. The clock stops at the end, and when the lot is sold.
  function dutchNumber(name) { return Number(lot.getAttribute("data-dutch-" + name)); }
  function dutchTick() {
    if (!lot || !lot.hasAttribute("data-dutch-start") || lot.getAttribute("data-status") !== "open") return;
    var startsAt = Date.parse(lot.getAttribute("data-dutch-starts-at"));
    var until = Date.parse(lot.getAttribute("data-dutch-until"));
    var tickMs = dutchNumber("tick") * 1000;
    if (isNaN(startsAt) || !(tickMs > 0)) return;
    var at = isNaN(until) ? now() : Math.min(now(), until);
    var ticks = Math.max(0, Math.floor((at - startsAt) / tickMs));
    var floor = dutchNumber("floor");
    var price = Math.max(floor, dutchNumber("start") - ticks * dutchNumber("step"));
    var currency = lot.getAttribute("data-currency");
    ["current-price", "dutch-buy-price"].forEach(function (name) {
      var el = field(name);
      if (el) el.textContent = money(price, currency);
    });
    var next = field("next-drop");
    if (!next) return;
    var drop = startsAt + (ticks + 1) * tickMs;
    if (price <= floor) next.textContent = "None: it is at its lowest price";
    else if (!isNaN(until) && drop >= until) next.textContent = "None before the end";
    else next.textContent = "in " + duration(drop - now());
  }
  // Books are ordered by their version, which every change bumps (a retraction or a
  // close too); a book without one (an older server) by its ledger sequence.
  var lastVersion = lot ? Number(lot.getAttribute("data-version")) || 0 : 0;
  function field(name) { return lot && lot.querySelector('[data-testid="' + name + '"]'); }

  function apply(book) {
    if (!lot || !book) return;
    var version = Number(book.version !== undefined ? book.version : book.seq) || 0;
    if (version < lastVersion) return; // never show an older book than the one on screen
    if (version !== lastVersion) refreshHistory();
    lastVersion = version;
    if (book.server_time) setSkew(book.server_time);
    var currency = lot.getAttribute("data-currency");
    var set = function (name, text) { var el = field(name); if (el) el.textContent = text; };
    var wasOpen = lot.getAttribute("data-status") === "open";
    if (book.status) lot.setAttribute("data-status", book.status);
    if (sealed) {
      // Until the close a sealed lot shows its count and time left, never a price.
      if (book.bid_count !== undefined) set("sealed-count", sealedCount(book.bid_count));
      var ends = field("time-left");
      if (ends && book.ends_at && book.status === "open") ends.setAttribute("data-ends-at", book.ends_at);
      if (book.status && book.status !== "open") {
        lot.querySelectorAll(".bidbox").forEach(function (el) { el.hidden = true; });
        set("status", book.status === "closed" ? "Ended" : "Cancelled");
        // The bids are revealed at the close: the page shows them, and who won.
        if (wasOpen) setTimeout(function () { location.reload(); }, 800);
      }
      tick();
      return;
    }
    if (book.dutch) {
      lot.setAttribute("data-dutch-starts-at", book.dutch.starts_at);
      lot.setAttribute("data-dutch-tick", book.dutch.tick_seconds);
      lot.setAttribute("data-dutch-until", book.ends_at);
    } else if (book.price_cents !== undefined) {
      // (An open Dutch lot's price is its clock's, shown by dutchTick.)
      set("current-price", money(book.price_cents, currency));
    }
    if (lot.hasAttribute("data-dutch-start") && book.status && book.status !== "open") {
      set("next-drop", "—");
      set("current-price", money(book.price_cents, currency));
    }
    if (book.bid_count !== undefined) set("bid-count", String(book.bid_count));
    if (book.leader !== undefined) set("leader", book.leader || "No bids yet");
    if (book.min_next_bid_cents) {
      set("min-next-bid", money(book.min_next_bid_cents, currency));
      var input = document.getElementById("max-bid");
      if (input && !input.dataset.touched) input.value = amountInput(book.min_next_bid_cents, currency);
    }
    if (book.reserve_met !== undefined && book.reserve_met !== null) {
      set("reserve", book.reserve_met ? "Reserve met" : "Reserve not met");
    }
    var left = field("time-left");
    if (left && book.ends_at && book.status === "open") left.setAttribute("data-ends-at", book.ends_at);
    if (book.status && book.status !== "open") {
      set("status", book.status === "closed" ? "Ended" : book.status === "cancelled" ? "Cancelled" : book.status);
      if (left) { left.removeAttribute("data-ends-at"); left.textContent = "Ended"; }
      lot.querySelectorAll(".bidbox, .buynow").forEach(function (el) { el.hidden = true; });
    } else if (book.status === "open" && book.bid_count > 0) {
      lot.querySelectorAll(".buynow").forEach(function (el) { el.hidden = true; });
    }
    if (book.bid_count > 0 || (book.status && book.status !== "open")) {
      // Its seller's "Edit" lasts until the first bid (or the end).
      lot.querySelectorAll("[data-until-first-bid]").forEach(function (el) { el.hidden = true; });
      if (book.bid_count > 0) {
        lot.querySelectorAll("[data-after-first-bid]").forEach(function (el) { el.hidden = false; });
      }
    }
    tick();
  }

  // A sealed bid placed: the page shows it (to its bidder alone), and the form raises it.
  function showSealedBid(form, text) {
    var mine = field("your-sealed-bid");
    if (mine) {
      mine.hidden = false;
      var amount = mine.querySelector("strong");
      if (amount) amount.textContent = text;
    }
    var button = form.querySelector("button[type=submit]");
    if (button) button.textContent = "Raise your bid";
    var input = document.getElementById("max-bid");
    if (input) input.value = "";
  }

  var historyTimer = null;
  function refreshHistory() {
    var body = lot.querySelector("[data-history]");
    if (!body || historyTimer) return;
    historyTimer = setTimeout(function () {
      historyTimer = null;
      fetch(body.getAttribute("data-history"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) return;
          body.innerHTML = html;
          localTimes(body);
        }).catch(function () { /* the next update tries again */ });
    }, 300);
  }

  function connect(delay) {
    var id = lot.getAttribute("data-live-auction");
    var scheme = location.protocol === "https:" ? "wss:" : "ws:";
    var socket = new WebSocket(scheme + "//" + location.host + "/ws/auctions/" + encodeURIComponent(id));
    socket.onmessage = function (event) {
      delay = 1000;
      try { apply(JSON.parse(event.data)); } catch (e) { /* a malformed update is skipped */ }
    };
    socket.onclose = function (event) {
      if (event.code === 4404) return;
      setTimeout(function () { connect(Math.min(delay * 2, 30000)); }, delay);
    };
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return "web-" + crypto.randomUUID();
    return "web-" + Date.now() + "-" + Math.random().toString(36).slice(2);
  }

  document.addEventListener("input", function (event) {
    if (event.target.id === "max-bid") event.target.dataset.touched = "1";
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-enhance") || !window.fetch) return;
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    var box = document.getElementById("bid-result");
    if (button) button.disabled = true;
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: { "X-Requested-With": "fetch", "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      if (response.redirected || !(response.headers.get("content-type") || "").startsWith("application/json")) {
        location.href = response.url;
        return null;
      }
      return response.json();
    }).then(function (data) {
      if (!data) return;
      show(box, data.message, data.kind);
      if (data.book) apply(data.book);
      if (data.sealed_bid) showSealedBid(form, data.sealed_bid);
      // An answer came back, so the request was decided (a refusal too, which is kept
      // under its key): the next one is a new request. Only a request that got no
      // answer is sent again with the same key.
      var key = form.querySelector('[name="idempotency_key"]');
      if (key) key.value = newKey();
      var input = document.getElementById("max-bid");
      if (input && data.kind !== "error") delete input.dataset.touched;
      dutchTick();
    }).catch(function () {
      show(box, "The bid could not be sent. Check your connection and try again.", "error");
    }).finally(function () {
      if (button) button.disabled = false;
    });
  });

  // A lot's picture that cannot be loaded (a seller's host is down) shows the
  // placeholder, not a broken-image icon.
  function placeholder(img) {
    if (!img || img.tagName !== "IMG" || !img.closest(".card, .gallery")) return;
    var blank = document.createElement("span");
    blank.className = "noimage" + (img.closest(".gallery") ? " large" : "");
    blank.setAttribute("aria-hidden", "true");
    img.replaceWith(blank);
  }
  document.addEventListener("error", function (event) { placeholder(event.target); }, true);
  document.querySelectorAll(".card img, .gallery img").forEach(function (img) {
    if (img.complete && img.naturalWidth === 0) placeholder(img); // failed before this ran
  });

  // The listing form: the fields of the format chosen show, the others hide and are not
  // sent (a soft close is for rising bids only, a clock for a Dutch auction only).
  // Without this script every field shows, with a hint saying which format it is for.
  function showFormat(form) {
    var chosen = form.querySelector('input[name="format"]:checked');
    if (!chosen) return;
    form.querySelectorAll("[data-format-hint]").forEach(function (el) { el.hidden = true; });
    form.querySelectorAll("[data-for-formats]").forEach(function (el) {
      var applies = el.getAttribute("data-for-formats").split(" ").indexOf(chosen.value) >= 0;
      el.hidden = !applies;
      el.querySelectorAll("input, select, textarea").forEach(function (input) { input.disabled = !applies; });
    });
  }
  document.querySelectorAll("form.sell-form").forEach(showFormat);
  document.addEventListener("change", function (event) {
    if (event.target.name === "format" && event.target.form) showFormat(event.target.form);
  });

  localTimes(document);
  tick();
  setInterval(tick, 1000);
  if (lot && lot.getAttribute("data-status") === "scheduled") {
    // Before it opens a lot has no book to follow: show it again when it opens.
    var opens = Date.parse(lot.getAttribute("data-starts-at"));
    setTimeout(function () { location.reload(); }, Math.max(1000, opens - now() + 1500));
  } else if (lot && window.WebSocket) {
    connect(1000);
  }

  // A timed sale's page: shown again when its lots open and when the lot that closes next
  // has ended, so the mark moves on (late bids may have moved that end: the new one counts).
  var timedSale = document.querySelector("[data-timed-sale]");
  if (timedSale) {
    var moments = ["data-opens-at", "data-next-close"].map(function (name) {
      return Date.parse(timedSale.getAttribute(name) || "");
    }).filter(function (t) { return !isNaN(t); });
    if (moments.length) {
      var wait = Math.min.apply(null, moments) - now() + 2000;
      // At most a day ahead (a longer timer would fire at once); a close the book has not
      // recorded yet is looked at again every few seconds.
      setTimeout(function () { location.reload(); }, Math.min(Math.max(5000, wait), 86400000));
    }
  }
})();
