// Tidings progressive enhancement: keyboard shortcuts, a dark-mode toggle and in-place card actions.
// Every page works without this file; it only saves reloads and adds shortcuts.
(function () {
  "use strict";
  var root = document.documentElement;
  var live = function (text) { var el = document.getElementById("live"); if (el) { el.textContent = text; } };

  // Theme: follow the system unless the reader picked one; the choice is kept in localStorage.
  function applyTheme(theme) {
    if (theme) { root.setAttribute("data-theme", theme); } else { root.removeAttribute("data-theme"); }
  }
  function isDark() {
    var t = root.getAttribute("data-theme");
    return t ? t === "dark" : window.matchMedia("(prefers-color-scheme: dark)").matches;
  }
  try { applyTheme(localStorage.getItem("tidings-theme")); } catch (e) { /* storage blocked */ }

  function cards() { return Array.prototype.slice.call(document.querySelectorAll(".card")); }
  function currentCard() {
    var el = document.activeElement;
    return el && el.closest ? el.closest(".card") : null;
  }
  function move(step) {
    var list = cards();
    if (!list.length) { return; }
    var i = list.indexOf(currentCard());
    var next = list[Math.max(0, Math.min(list.length - 1, i < 0 ? 0 : i + step))];
    next.focus();
    next.scrollIntoView({ block: "nearest" });
  }
  function clickIn(card, act) {
    var b = card && card.querySelector('button[data-act="' + act + '"]');
    if (b) { b.click(); }
  }

  function removeCard(card) {
    var list = cards();
    var i = list.indexOf(card);
    var item = card.closest("li") || card;
    item.parentNode.removeChild(item);
    var rest = cards();
    if (rest.length) { rest[Math.min(i, rest.length - 1)].focus(); }
  }

  function onSubmit(event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("actions") || !window.fetch) { return; }
    var button = event.submitter;
    if (!button) { return; }
    event.preventDefault();
    var data = new FormData(form);
    data.set("action", button.value);
    var card = form.closest(".card");
    fetch(form.getAttribute("action"), { method: "POST", body: data, headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function () {
        var act = button.value;
        if (act === "hide" || act === "fewer" || act === "mute_topic") {
          removeCard(card);
          live(act === "hide" ? "Hidden." : act === "fewer" ? "Fewer like this." : "Topic muted.");
        } else if (act === "mute_source") {
          var source = card.getAttribute("data-source");
          cards().filter(function (c) { return c.getAttribute("data-source") === source; }).forEach(removeCard);
          live("Source muted.");
        } else {
          button.setAttribute("aria-pressed", "true");
          live(act === "like" ? "Liked." : act === "save" ? "Saved." : "More like this.");
        }
      })
      .catch(function () { form.submit(); });
  }

  // "More stories" loads the next page in place (the link still works as plain pagination), and loads by
  // itself when it scrolls into view (infinite scroll); without JavaScript it stays a plain link.
  var loading = false;
  function loadNext(link) {
    var list = document.getElementById("cards");
    if (loading || !list) { return; }
    loading = true;
    fetch(link.getAttribute("href"), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var before = cards().length;
        var items = doc.querySelectorAll("#cards > li");
        Array.prototype.forEach.call(items, function (li) { list.appendChild(document.importNode(li, true)); });
        var pager = document.querySelector(".pager");
        var next = doc.querySelector(".pager");
        if (pager && next) { pager.innerHTML = next.innerHTML; }
        live(items.length + " more stories loaded.");
        loading = false;
        watchNext();
        return before;
      })
      .catch(function () { window.location.href = link.getAttribute("href"); });
  }
  function nextLink() {
    return document.getElementById("cards") ? document.querySelector('.pager a[rel="next"]') : null;
  }
  var observer = null;
  function watchNext() {
    var link = nextLink();
    if (!observer || !link) { return; }
    observer.disconnect();
    observer.observe(link);
  }
  function onClick(event) {
    var link = event.target.closest && event.target.closest('.pager a[rel="next"]');
    if (!link || !document.getElementById("cards") || !window.fetch || !window.DOMParser) { return; }
    event.preventDefault();
    var before = cards().length;
    loadNext(link);
    // Keyboard readers who asked for more land on the first new card once it is there.
    var wait = window.setInterval(function () {
      if (!loading) { window.clearInterval(wait); var added = cards()[before]; if (added) { added.focus(); } }
    }, 50);
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var t = event.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) { return; }
    var help = document.getElementById("help");
    var card = currentCard();
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "o": if (card) { var link = card.querySelector(".card-link"); if (link) { link.click(); } } break;
      case "s": clickIn(card, "save"); break;
      case "h": clickIn(card, "hide"); break;
      case "?":
        if (help && help.showModal) { if (help.open) { help.close(); } else { help.showModal(); } }
        break;
      default: return;
    }
    event.preventDefault();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.getElementById("theme-toggle");
    if (toggle) {
      toggle.hidden = false;
      toggle.setAttribute("aria-pressed", String(isDark()));
      toggle.addEventListener("click", function () {
        var theme = isDark() ? "light" : "dark";
        applyTheme(theme);
        try { localStorage.setItem("tidings-theme", theme); } catch (e) { /* storage blocked */ }
        toggle.setAttribute("aria-pressed", String(theme === "dark"));
      });
    }
    document.addEventListener("submit", onSubmit);
    document.addEventListener("keydown", onKey);
    document.addEventListener("click", onClick);
    if (window.IntersectionObserver && window.fetch && window.DOMParser) {
      observer = new IntersectionObserver(function (entries) {
        entries.forEach(function (e) { if (e.isIntersecting) { loadNext(e.target); } });
      }, { rootMargin: "400px 0px" });
      watchNext();
    }
  });
})();
