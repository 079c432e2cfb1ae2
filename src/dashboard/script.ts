/** The dashboard's browser code: plain DOM, no framework, no CDN. Written without template literals. */
export const DASHBOARD_JS = `
(function () {
  "use strict";
  var $ = function (s) { return document.querySelector(s); };
  var state = {
    token: sessionStorage.getItem("tally.token") || "",
    subject: sessionStorage.getItem("tally.subject") || "",
    range: "day",
    meter: "",
  };
  var RANGE_DAYS = { day: 30, week: 84, month: 365 };
  var tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

  function isUserToken(t) { return t.split(".").length === 3; }
  function tokenSubject(t) {
    try { return JSON.parse(atob(t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).sub || ""; } catch (e) { return ""; }
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      // Widths go through CSSOM: the page's CSP refuses inline style attributes.
      if (k === "text") node.textContent = attrs[k]; else if (k === "width") node.style.width = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }
  function fmt(n) { return n === null || n === undefined ? "—" : Number(n).toLocaleString(undefined, { maximumFractionDigits: 4 }); }
  function api(path) {
    return fetch(path, { headers: { authorization: "Bearer " + state.token } }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (!res.ok) throw new Error((body.error && body.error.message) || ("HTTP " + res.status));
        return body;
      });
    });
  }
  function query(params) {
    return Object.keys(params).filter(function (k) { return params[k] !== "" && params[k] !== undefined; })
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]); }).join("&");
  }
  function subject() { return isUserToken(state.token) ? tokenSubject(state.token) : state.subject; }

  function renderMeters(rows) {
    var list = $("#meters");
    list.replaceChildren();
    $("#usage-empty").hidden = rows.length > 0;
    $("#usage-empty").textContent = rows.length ? "" : "No usage or entitlements yet.";
    rows.forEach(function (r) {
      var pct = r.limit ? Math.min(100, (r.used / r.limit) * 100) : 0;
      var level = r.limit === null ? "" : r.used >= r.limit ? " over" : pct >= 80 ? " warn" : "";
      var bar = el("div", { class: "bar" + level, role: "progressbar", "aria-label": r.meter + " used", "aria-valuemin": "0",
        "aria-valuemax": String(r.limit === null ? r.used : r.limit), "aria-valuenow": String(r.used) }, [el("span", { width: (r.limit ? pct : 0) + "%" })]);
      var period = r.periodStart ? r.periodStart.slice(0, 10) + " → " + r.periodEnd.slice(0, 10) : "all time";
      list.appendChild(el("li", { class: "meter", "data-meter": r.meter }, [
        el("div", { class: "name", text: r.meter + (r.kind === "gauge" ? " (level)" : "") }),
        bar,
        el("div", { class: "numbers" }, [
          el("span", { class: "used", "data-used": String(r.used), text: fmt(r.used) }),
          el("span", { text: " of " + (r.limit === null ? "unlimited" : fmt(r.limit)) + (r.enforcement ? " (" + r.enforcement + ")" : "") + " · " + period }),
        ]),
        el("div", { class: "numbers credit" }, [
          el("span", { class: "held", "data-held": String(r.held || 0), text: r.held ? fmt(r.held) + " held · " : "" }),
          el("span", { class: "granted", "data-granted": String(r.granted || 0), text: r.granted ? fmt(r.granted) + " granted · " : "" }),
          el("span", { class: "remaining", text: r.remaining === null ? "" : fmt(r.remaining) + " left" }),
        ]),
      ]));
    });
    var select = $("#trend-meter");
    var meters = rows.map(function (r) { return r.meter; });
    if (!state.meter || meters.indexOf(state.meter) < 0) state.meter = meters[0] || "";
    select.replaceChildren.apply(select, meters.map(function (m) { return el("option", { value: m, text: m }); }));
    select.value = state.meter;
  }

  function renderChart(rows) {
    var box = $("#chart");
    box.replaceChildren();
    var max = rows.reduce(function (m, r) { return Math.max(m, r.total); }, 0) || 1;
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    var width = 1000, height = 220, pad = 24, slot = rows.length ? (width - pad) / rows.length : width;
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("preserveAspectRatio", "none");
    rows.forEach(function (r, i) {
      var h = Math.max(1, ((height - pad) * r.total) / max);
      var rect = document.createElementNS(ns, "rect");
      rect.setAttribute("x", String(pad + i * slot + slot * 0.1));
      rect.setAttribute("y", String(height - pad - h));
      rect.setAttribute("width", String(Math.max(1, slot * 0.8)));
      rect.setAttribute("height", String(h));
      var title = document.createElementNS(ns, "title");
      title.textContent = r[state.range] + ": " + fmt(r.total);
      rect.appendChild(title);
      svg.appendChild(rect);
      if (rows.length <= 16 || i % Math.ceil(rows.length / 12) === 0) {
        var label = document.createElementNS(ns, "text");
        label.setAttribute("x", String(pad + i * slot));
        label.setAttribute("y", String(height - 6));
        label.textContent = r[state.range].slice(5);
        svg.appendChild(label);
      }
    });
    if (rows.length) {
      var top = document.createElementNS(ns, "text");
      top.setAttribute("x", "0");
      top.setAttribute("y", "12");
      top.textContent = fmt(max);
      svg.appendChild(top);
    }
    box.appendChild(svg);
    var total = rows.reduce(function (s, r) { return s + r.total; }, 0);
    $("#chart-caption").textContent = (state.meter || "usage") + " per " + state.range + " over the last " + RANGE_DAYS[state.range] + " days (" + tz + "): " + fmt(total) + " in " + rows.length + " " + state.range + (rows.length === 1 ? "" : "s") + " with usage.";
    box.setAttribute("data-range", state.range);
    box.setAttribute("data-total", String(total));
  }

  function renderBreakdown(rows, dimension) {
    var body = $("#breakdown tbody");
    body.replaceChildren();
    var max = rows.reduce(function (m, r) { return Math.max(m, r.total); }, 0) || 1;
    rows.forEach(function (r) {
      var value = r["dimension." + dimension];
      body.appendChild(el("tr", {}, [
        el("td", { text: value === null ? "(none)" : value }),
        el("td", { text: fmt(r.total) }),
        el("td", { text: fmt(r.count) }),
        el("td", { class: "share" }, [el("span", { width: (100 * r.total) / max + "%" })]),
      ]));
    });
  }

  function renderAlerts(rows) {
    var list = $("#alerts");
    list.replaceChildren();
    if (!rows.length) list.appendChild(el("li", { class: "empty", text: "No alerts." }));
    rows.forEach(function (n) {
      var text = alertText(n, n.payload || {});
      list.appendChild(el("li", {}, [el("strong", { text: n.type.replace("entitlement.", "") + " " }), el("span", { text: text }), el("span", { class: "hint", text: " · " + n.createdAt.slice(0, 16).replace("T", " ") })]));
    });
  }

  function alertText(n, p) {
    var who = n.subjectId + ": " + (p.meter || "");
    if (n.type === "period.closed") return "Period closed for " + n.subjectId;
    if (n.type === "period.restated") return who + " period from " + String(p.periodStart).slice(0, 10) + " restated " + fmt(p.before) + " → " + fmt(p.after);
    if (n.type === "usage.voided") return who + " event " + p.eventId + " voided (" + fmt(p.amount) + ")";
    if (n.type === "reservation.expired") return who + " hold of " + fmt(p.amount) + " expired";
    if (n.type === "grant.depleted") return who + " grant of " + fmt(p.amount) + " used up";
    if (n.type === "balance.low") return who + " " + fmt(p.remaining) + " left (alert at " + fmt(p.threshold) + ")";
    return who + " reached " + p.threshold + "% of " + fmt(p.limit) + " (" + fmt(p.used) + " used)";
  }

  function when(iso) { return iso ? iso.slice(0, 16).replace("T", " ") : "never"; }

  function refreshCredits(s, user) {
    var credits = $("#credits");
    credits.hidden = !s;
    if (!s) return Promise.resolve();
    var base = "/v1/subjects/" + encodeURIComponent(s);
    return Promise.all([
      api(base + "/reservations?status=held&limit=20").then(function (r) {
        renderTable("#holds", r.data, function (x) { return [x.meter, fmt(x.amount), when(x.expiresAt), x.id]; });
      }),
      api(base + "/grants").then(function (r) {
        renderTable("#grants", r.data, function (x) { return [x.meter, fmt(x.remaining) + " of " + fmt(x.amount), when(x.expiresAt), x.source]; });
      }),
      api(user ? "/v1/me/features" : base + "/features").then(function (r) {
        renderTable("#features", r.data, function (x) { return [x.key, JSON.stringify(x.value), x.source]; });
      }),
    ]);
  }

  function renderTable(selector, rows, cells) {
    var body = $(selector + " tbody");
    body.replaceChildren();
    var columns = document.querySelectorAll(selector + " thead th").length;
    if (!rows.length) body.appendChild(el("tr", {}, [el("td", { colspan: String(columns), class: "empty", text: "Nothing here." })]));
    rows.forEach(function (r) { body.appendChild(el("tr", {}, cells(r).map(function (c) { return el("td", { text: String(c) }); }))); });
  }

  function refreshTrend() {
    if (!state.meter) { renderChart([]); return Promise.resolve(); }
    var from = new Date(Date.now() - RANGE_DAYS[state.range] * 86400000).toISOString();
    return api("/v1/usage/summary?" + query({ groupBy: state.range, meter: state.meter, subjectId: subject(), from: from, to: new Date().toISOString(), tz: tz }))
      .then(function (r) { renderChart(r.data); });
  }

  function refreshBreakdown() {
    var dimension = $("#dimension").value.trim() || "schoolId";
    var from = new Date(Date.now() - RANGE_DAYS[state.range] * 86400000).toISOString();
    return api("/v1/usage/summary?" + query({ groupBy: "dimension." + dimension, meter: state.meter, subjectId: subject(), from: from, to: new Date().toISOString(), tz: tz }))
      .then(function (r) { renderBreakdown(r.data, dimension); })
      .catch(function () { renderBreakdown([], dimension); });
  }

  function refresh() {
    var s = subject();
    var user = isUserToken(state.token);
    $("#who").textContent = user ? "Signed in as " + s : "Operator" + (s ? " · " + s : " · all subjects");
    $("#operator").hidden = user;
    $("#subject-form").hidden = user;
    var entitlements = user ? api("/v1/me/entitlements") : s ? api("/v1/subjects/" + encodeURIComponent(s) + "/entitlements") : Promise.resolve({ data: [] });
    return entitlements.then(function (r) {
      renderMeters(r.data);
      if (!user && !s) { $("#usage-empty").hidden = false; $("#usage-empty").textContent = "Choose a subject to see its limits."; }
      if (!state.meter && !s) state.meter = "api_call";
      var tasks = [refreshTrend(), refreshBreakdown(), refreshCredits(s, user), api("/v1/notifications?" + query({ subjectId: s, limit: 10 })).then(function (n) { renderAlerts(n.data); })];
      if (!user) {
        tasks.push(api("/v1/webhooks/unattributed?limit=10").then(function (u) {
          renderTable("#unattributed", u.data, function (x) { return [x.provider, x.faxId, x.pageCount, x.parkedAt.slice(0, 16).replace("T", " ")]; });
        }));
        tasks.push(api("/v1/dead-letters?limit=10").then(function (d) {
          renderTable("#dead-letters", d.data, function (x) { return [x.reason, x.detail, x.attempts, x.createdAt.slice(0, 16).replace("T", " ")]; });
        }));
      }
      return Promise.all(tasks);
    });
  }

  function show(signedIn) {
    $("#sign-in").hidden = signedIn;
    $("#board").hidden = !signedIn;
    $("#sign-out").hidden = !signedIn;
    document.body.setAttribute("data-state", signedIn ? "loading" : "signed-out");
    if (signedIn) refresh().then(function () { document.body.setAttribute("data-state", "ready"); }, function (e) { $("#who").textContent = e.message; document.body.setAttribute("data-state", "error"); });
  }

  $("#sign-in-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    state.token = $("#token").value.trim();
    var probe = isUserToken(state.token) ? api("/v1/me/entitlements") : api("/v1/meters");
    probe.then(function () {
      sessionStorage.setItem("tally.token", state.token);
      $("#sign-in-error").textContent = "";
      show(true);
    }, function (e) { $("#sign-in-error").textContent = "Sign-in failed: " + e.message; });
  });
  $("#sign-out").addEventListener("click", function () { sessionStorage.clear(); state.token = ""; show(false); });
  $("#subject-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    state.subject = $("#subject").value.trim();
    state.meter = "";
    sessionStorage.setItem("tally.subject", state.subject);
    show(true);
  });
  document.querySelectorAll("[data-range]").forEach(function (b) {
    b.addEventListener("click", function () {
      state.range = b.getAttribute("data-range");
      document.querySelectorAll("[data-range]").forEach(function (o) { o.setAttribute("aria-pressed", String(o === b)); });
      document.body.setAttribute("data-state", "loading");
      Promise.all([refreshTrend(), refreshBreakdown()]).then(function () { document.body.setAttribute("data-state", "ready"); });
    });
  });
  $("#trend-meter").addEventListener("change", function (ev) { state.meter = ev.target.value; refreshTrend(); refreshBreakdown(); });
  $("#dimension").addEventListener("change", refreshBreakdown);
  $("#subject").value = state.subject;
  show(Boolean(state.token));
})();
`;
