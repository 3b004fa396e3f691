/* llmops HTML report. Renders the JSON embedded in #llmops-data with DOM calls and textContent only:
   no HTML parsing of data, no dynamic code, no network. */
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("llmops-data").textContent);
  const SVGNS = "http://www.w3.org/2000/svg";
  const PAGE = 100;
  const ATTRS = new Set(["class", "id", "title", "type", "placeholder", "colspan", "for", "role",
    "aria-label", "aria-expanded", "aria-selected", "data-state", "data-status", "data-prompt", "data-metric",
    "data-case", "data-tab", "data-view", "data-filter", "value", "min", "max"]);

  // -- DOM helpers ------------------------------------------------------------------------------------------
  function add(node, ...kids) {
    for (const k of kids) {
      if (k === null || k === undefined || k === false) continue;
      if (Array.isArray(k)) add(node, ...k);
      else if (typeof k === "object" && k.nodeType) node.appendChild(k);
      else node.appendChild(document.createTextNode(String(k)));
    }
    return node;
  }
  function set(node, props) {
    for (const key in props || {}) {
      const v = props[key];
      if (v === null || v === undefined || v === false) continue;
      if (key === "on") { for (const ev in v) node.addEventListener(ev, v[ev]); }
      else if (key === "checked" || key === "selected") node[key] = !!v;
      else if (ATTRS.has(key)) node.setAttribute(key, String(v));
      else throw new Error("attribute not allowed: " + key);
    }
    return node;
  }
  function h(tag, props, ...kids) { return add(set(document.createElement(tag), props), kids); }
  function s(tag, attrs, ...kids) {
    const node = document.createElementNS(SVGNS, tag);
    for (const key in attrs || {}) if (attrs[key] !== null && attrs[key] !== undefined) node.setAttribute(key, String(attrs[key]));
    return add(node, kids);
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  // -- formatting -------------------------------------------------------------------------------------------
  const isNum = (x) => typeof x === "number" && isFinite(x);
  const pct = (x) => isNum(x) ? (x * 100).toFixed(1) + "%" : "—";
  const num = (x, d) => isNum(x) ? x.toFixed(d === undefined ? 3 : d) : "—";
  const signed = (x) => isNum(x) ? (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(3) : "—";
  const usd = (x) => isNum(x) ? "$" + x.toFixed(4) : "unknown";
  const ms = (x) => isNum(x) ? Math.round(x) + " ms" : "—";
  const str = (x) => x === null || x === undefined ? "" : String(x);
  function badge(state) {
    const st = str(state || "n/a");
    return h("span", { class: "badge b-" + st.toLowerCase().replace(/[^a-z]/g, ""), "data-state": st }, st);
  }
  function pre(text, cls) { return h("pre", { class: cls || "text" }, text === null || text === undefined ? "—" : text); }
  function table(headers, rows, cls) {
    return h("table", { class: cls || "grid" },
      h("thead", null, h("tr", null, headers.map((x) => h("th", null, x)))),
      h("tbody", null, rows));
  }
  function section(title, ...kids) { return h("section", { class: "card" }, h("h2", null, title), kids); }

  // -- results view -----------------------------------------------------------------------------------------
  function caseProblems(c) {
    const out = [];
    for (const sm of c.samples) {
      if (sm.error) out.push(sm.error);
      for (const a of sm.assertions) if (a.passed !== true) out.push(a.metric + ": " + a.reason);
    }
    return out;
  }

  function assertionTable(list) {
    if (!list.length) return h("p", { class: "muted" }, "No assertions scored.");
    const rows = list.map((a) => {
      const judge = [];
      if (a.samples) {
        a.samples.forEach((sc, k) => {
          const why = a.reasonings && a.reasonings[k];
          judge.push(h("div", { class: "judge" }, h("b", null, "judge sample " + (k + 1) + ": "),
            sc === null ? h("span", { class: "err" }, "error") : num(sc, 2),
            why ? h("div", { class: "reasoning" }, why) : null));
        });
      }
      return h("tr", { "data-status": a.passed === true ? "pass" : (a.passed === false ? "fail" : "error") },
        h("td", null, a.passed === true ? badge("pass") : (a.passed === false ? badge("fail") : badge("error"))),
        h("td", null, a.type), h("td", null, a.metric), h("td", { class: "n" }, num(a.score, 2)),
        h("td", { class: "n" }, num(a.threshold, 2)),
        h("td", { class: "reason" }, h("div", null, a.reason), judge));
    });
    return table(["", "type", "metric", "score", "threshold", "reason / judge reasoning"], rows, "grid inner");
  }

  // an attached image: a thumbnail only from an inline data: URL of a raster type (never a remote URL, never SVG)
  const THUMB = /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+\/]+=*$/;
  function thumb(im) {
    const fig = h("figure", { class: "thumb", title: im.label });
    if (typeof im.src === "string" && THUMB.test(im.src)) {
      const img = document.createElement("img");
      img.setAttribute("src", im.src);
      img.setAttribute("alt", String(im.name || "image"));
      fig.appendChild(img);
    }
    return add(fig, h("figcaption", null, im.label));
  }

  function caseDetail(c) {
    const box = h("div", { class: "detail" });
    if (c.messages) {
      add(box, h("h4", null, "Rendered messages"), c.messages.map((m) =>
        h("div", { class: "msg" }, h("span", { class: "role" }, m.role), pre(m.content),
          (m.images || []).map(thumb))));
    }
    add(box, h("h4", null, "Expected"), c.expected === null || c.expected === undefined
      ? h("p", { class: "muted" }, "No expected value recorded.") : pre(c.expected, "text expected"));
    for (const sm of c.samples) {
      add(box, h("div", { class: "sample" },
        h("h4", null, "Sample " + str(sm.sample) + " ", badge(sm.status),
          h("span", { class: "muted" }, "  score " + num(sm.score, 2) + " · " + ms(sm.latency_ms) + " · gen " +
            usd(sm.cost_usd) + " · judge " + usd(sm.judge_cost_usd) + (sm.judge_errors ? " · " + sm.judge_errors + " judge error(s)" : ""))),
        sm.error ? h("div", { class: "error" }, h("b", null, "Error: "), sm.error) : null,
        h("div", { class: "label" }, "Output"), pre(sm.output, "text output"),
        assertionTable(sm.assertions)));
    }
    return box;
  }

  function resultsView(R) {
    const root = h("div", { class: "view", "data-view": "results" });
    const totals = R.totals || {};
    add(root, h("div", { class: "verdict " + (R.passed ? "v-pass" : "v-fail") },
      h("span", { class: "big" }, R.passed ? "PASSED" : "FAILED"),
      h("span", null, " " + str(totals.samples) + " samples: " + str(totals.passed) + " passed, " + str(totals.failed) +
        " failed, " + str(totals.errors) + " errors, " + str(totals.judge_errors) + " judge errors · " + usd(totals.cost_usd))));
    const run = R.run || {};
    add(root, h("p", { class: "meta" }, [
      run.source ? "source " + run.source : null, run.git_sha ? " · commit " + String(run.git_sha).slice(0, 12) : null,
      " · R = " + str(run.repeat) + ", K = " + str(run.judge_samples),
      run.started_at ? " · started " + run.started_at : null, run.id ? " · run " + run.id : null]));

    // per-prompt summary
    add(root, section("Prompts", table(
      ["prompt", "status", "pass rate (min)", "cases", "samples", "errors", "metric means", "cost", "p50 / p95"],
      R.prompts.map((p) => h("tr", { "data-prompt": p.name },
        h("td", null, h("b", null, p.name), p.model ? h("div", { class: "muted" }, p.model) : null),
        h("td", null, badge(p.status)),
        h("td", { class: "n" }, pct(p.pass_rate) + " (" + pct(p.min_pass_rate) + ")"),
        h("td", { class: "n" }, str(p.cases)), h("td", { class: "n" }, str(p.samples)),
        h("td", { class: "n" }, str(p.errors) + (p.judge_errors ? " (+" + p.judge_errors + " judge)" : "")),
        h("td", null, Object.keys(p.metrics || {}).map((m) => h("div", null, m + " " + num(p.metrics[m], 3)))),
        h("td", { class: "n" }, usd(p.cost_total)), h("td", { class: "n" }, ms(p.p50_ms) + " / " + ms(p.p95_ms)))),
      "grid summary")));

    // filters
    const cases = R.cases;
    const uniq = (f) => [...new Set(cases.flatMap(f))].filter((x) => x !== null && x !== undefined && x !== "").sort();
    const prompts = uniq((c) => [c.prompt]);
    const clusters = uniq((c) => [c.cluster]);
    const tags = uniq((c) => c.tags);
    const metrics = uniq((c) => c.samples.flatMap((sm) => sm.assertions.map((a) => a.metric)));
    const info = cases.map((c) => {
      const all = new Set(), bad = new Set();
      for (const sm of c.samples) for (const a of sm.assertions) { all.add(a.metric); if (a.passed !== true) bad.add(a.metric); }
      return { all, bad, hay: null };
    });
    function hay(i) {
      if (info[i].hay === null) {
        const c = cases[i];
        const parts = [c.prompt, c.id, c.cluster, c.tags.join(" "), c.expected];
        for (const sm of c.samples) { parts.push(sm.output, sm.error); for (const a of sm.assertions) parts.push(a.reason); }
        info[i].hay = parts.filter((x) => x).join("\n").toLowerCase();
      }
      return info[i].hay;
    }
    function select(name, label, values) {
      return h("label", null, label + " ", h("select", { "data-filter": name, "aria-label": label },
        h("option", { value: "" }, "all"), values.map((v) => h("option", { value: v }, v))));
    }
    const failedBox = h("input", { type: "checkbox", "data-filter": "failed", id: "f-failed" });
    const search = h("input", { type: "search", "data-filter": "search", placeholder: "search id, output, reason…", "aria-label": "search" });
    const bar = h("div", { class: "filters" },
      h("label", { for: "f-failed" }, failedBox, " failed only"),
      prompts.length > 1 ? select("prompt", "prompt", prompts) : null,
      select("cluster", "cluster", clusters), select("tag", "tag", tags), select("assertion", "assertion", metrics),
      search);
    const count = h("span", { class: "count", id: "case-count" });
    const tbody = h("tbody", { id: "case-rows" });
    const pager = h("div", { class: "pager" });
    add(root, section("Cases", bar, h("div", { class: "countline" }, count), h("table", { class: "grid cases" },
      h("thead", null, h("tr", null, ["", "status", "prompt", "case", "cluster", "tags", "score", "why"].map((x) => h("th", null, x)))),
      tbody), pager));

    const state = { page: 0, rows: [], open: new Set() };
    const get = (name) => bar.querySelector('[data-filter="' + name + '"]');
    function apply() {
      const failed = failedBox.checked;
      const fp = get("prompt") ? get("prompt").value : "";
      const fc = get("cluster").value, ft = get("tag").value, fa = get("assertion").value;
      const q = search.value.trim().toLowerCase();
      const rows = [];
      for (let i = 0; i < cases.length; i++) {
        const c = cases[i];
        if (failed && c.status === "pass" && !fa) continue;
        if (fp && c.prompt !== fp) continue;
        if (fc && c.cluster !== fc) continue;
        if (ft && c.tags.indexOf(ft) < 0) continue;
        if (fa && !(failed ? info[i].bad : info[i].all).has(fa)) continue;
        if (q && hay(i).indexOf(q) < 0) continue;
        rows.push(i);
      }
      state.rows = rows;
      state.page = 0;
      draw();
    }
    function row(i) {
      const c = cases[i];
      const open = state.open.has(i);
      const toggle = h("button", { class: "toggle", "aria-expanded": open ? "true" : "false", "aria-label": "expand case " + c.id }, open ? "▾" : "▸");
      const scores = c.samples.map((sm) => sm.score).filter(isNum);
      const why = caseProblems(c);
      const tr = h("tr", { class: "case", "data-case": c.id, "data-status": c.status, "data-prompt": c.prompt },
        h("td", null, toggle), h("td", null, badge(c.status)), h("td", null, c.prompt), h("td", { class: "id" }, c.id),
        h("td", null, str(c.cluster)), h("td", null, c.tags.join(", ")),
        h("td", { class: "n" }, scores.length ? num(scores.reduce((a, b) => a + b, 0) / scores.length, 2) : "—"),
        h("td", { class: "why" }, why.length ? why[0].slice(0, 160) + (why.length > 1 ? " (+" + (why.length - 1) + ")" : "") : ""));
      const out = [tr];
      if (open) out.push(h("tr", { class: "detail-row" }, h("td", { colspan: 8 }, caseDetail(c))));
      tr.addEventListener("click", () => {
        if (state.open.has(i)) state.open.delete(i); else state.open.add(i);
        draw();
      });
      return out;
    }
    function draw() {
      const pages = Math.max(1, Math.ceil(state.rows.length / PAGE));
      state.page = Math.min(state.page, pages - 1);
      const start = state.page * PAGE;
      const frag = document.createDocumentFragment();
      for (const i of state.rows.slice(start, start + PAGE)) add(frag, row(i));
      clear(tbody).appendChild(frag);
      count.textContent = state.rows.length + " of " + cases.length + " cases";
      clear(pager);
      const go = (p) => () => { state.page = p; draw(); };
      add(pager,
        h("button", { class: "prev", on: { click: go(state.page - 1) }, "aria-label": "previous page" }, "‹ prev"),
        h("span", { class: "pageinfo" }, " page " + (state.page + 1) + " of " + pages + " "),
        h("button", { class: "next", on: { click: go(state.page + 1) }, "aria-label": "next page" }, "next ›"));
      pager.querySelector(".prev").disabled = state.page === 0;
      pager.querySelector(".next").disabled = state.page >= pages - 1;
    }
    let timer = null;
    bar.addEventListener("change", apply);
    search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(apply, 60); });
    apply();
    return root;
  }

  // -- gate view --------------------------------------------------------------------------------------------
  function forestPlot(G) {
    const rows = [];
    for (const p of G.prompts) {
      if (p.status !== "gated") continue;
      for (const m of p.metrics) if (m.decisive) rows.push({ p, m });
    }
    if (!rows.length) return h("p", { class: "muted" }, "No decisive metric was compared.");
    const practical = isNum(G.settings.practical) ? G.settings.practical : 0.02;
    const level = isNum(G.settings.alpha) ? Math.round(100 * (1 - 2 * G.settings.alpha)) + "%" : "";
    let lo = -2 * practical, hi = 2 * practical;
    for (const { m } of rows) for (const v of [m.lb, m.ub, m.delta]) if (isNum(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    const span = hi - lo || 1;
    lo -= span * 0.08; hi += span * 0.08;
    const W = 860, L = 300, R = 20, T = 28, RH = 26, H = T + rows.length * RH + 34;
    const x = (v) => L + (v - lo) / (hi - lo) * (W - L - R);
    const svg = s("svg", { class: "forest", viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img",
      "aria-label": "Δ (head − base) with interval per prompt and decisive metric" });
    svg.appendChild(s("rect", { x: x(lo), y: T - 8, width: x(-practical) - x(lo), height: rows.length * RH + 8, class: "zone-bad" }));
    for (const t of ticks(lo, hi)) {
      add(svg, s("line", { x1: x(t), x2: x(t), y1: T - 8, y2: T + rows.length * RH, class: "grid" }),
        s("text", { x: x(t), y: T + rows.length * RH + 16, class: "tick" }, t === 0 ? "0" : signed(t)));
    }
    add(svg, s("line", { x1: x(0), x2: x(0), y1: T - 12, y2: T + rows.length * RH, class: "zero" }),
      s("line", { x1: x(-practical), x2: x(-practical), y1: T - 12, y2: T + rows.length * RH, class: "practical" }),
      s("text", { x: x(-practical) - 4, y: T - 12, class: "tick end" }, "drops beyond −practical (" + practical + ") ◂"),
      s("text", { x: L + (W - L - R) / 2, y: H - 4, class: "axis" }, "Δ = head − base, with its " + level + " interval"));
    rows.forEach(({ p, m }, i) => {
      const y = T + i * RH + RH / 2;
      const g = s("g", { class: "mark s-" + str(m.state).toLowerCase(), "data-prompt": p.prompt, "data-metric": m.metric, "data-state": str(m.state) },
        s("title", null, p.prompt + " · " + m.metric + ": Δ " + signed(m.delta) + " [" + signed(m.lb) + ", " + signed(m.ub) + "] " + str(m.state)));
      add(svg, s("text", { x: 8, y: y + 4, class: "rowlabel" }, (p.prompt + " · " + m.metric).slice(0, 44)));
      if (isNum(m.lb) && isNum(m.ub)) add(g, s("line", { x1: x(m.lb), x2: x(m.ub), y1: y, y2: y, class: "ci" }));
      if (isNum(m.delta)) add(g, s("circle", { cx: x(m.delta), cy: y, r: 5, class: "dot" }));
      else add(g, s("text", { x: x(0) + 6, y: y + 4, class: "tick" }, "n/a"));
      svg.appendChild(g);
    });
    return svg;
  }
  function ticks(lo, hi) {
    const raw = (hi - lo) / 6, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((k) => k * mag).find((v) => v >= raw) || raw;
    const out = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-12; t += step) out.push(Math.abs(t) < 1e-12 ? 0 : t);
    return out;
  }

  function diffPane(ops, side) {
    const pre = h("pre", { class: "text diff" });
    for (const [op, text] of ops) {
      if (op === "=") add(pre, text);
      else if (op === "-" && side === "base") add(pre, h("del", null, text));
      else if (op === "+" && side === "head") add(pre, h("ins", null, text));
    }
    return pre;
  }

  function promptCard(p, G) {
    const card = h("section", { class: "card prompt", "data-prompt": p.prompt, "data-state": str(p.state) },
      h("h2", null, badge(p.state), " ", p.prompt), h("p", { class: "reason" }, p.reason));
    if (p.metrics.length) {
      const level = isNum(G.settings.alpha) ? Math.round(100 * (1 - 2 * G.settings.alpha)) + "% " : "";
      add(card, h("h3", null, "Metrics"), table(["metric", "state", "Δ", level + "interval", "MDE", "base → head", "n", "clusters", "p (adj.)", "reason"],
        p.metrics.map((m) => h("tr", { "data-metric": m.metric },
          h("td", null, m.metric, m.decisive ? null : h("span", { class: "muted" }, " (info)")), h("td", null, badge(m.state)),
          h("td", { class: "n" }, signed(m.delta)), h("td", { class: "n" }, "[" + signed(m.lb) + ", " + signed(m.ub) + "]"),
          h("td", { class: "n" }, num(m.mde)), h("td", { class: "n" }, num(m.base_mean) + " → " + num(m.head_mean)),
          h("td", { class: "n" }, str(m.n_cases)), h("td", { class: "n" }, str(m.n_clusters)),
          h("td", { class: "n" }, isNum(m.p_adjusted) ? m.p_adjusted.toPrecision(3) : "—"), h("td", { class: "reason" }, m.reason)))));
      const withClusters = p.metrics.filter((m) => m.decisive && m.clusters.length);
      if (withClusters.length) {
        add(card, h("h3", null, "Δ per cluster"), table(["metric", "cluster", "n", "Δ", ""],
          withClusters.flatMap((m) => m.clusters.map((c) => h("tr", { class: isNum(c.delta) && c.delta < 0 ? "neg" : "" },
            h("td", null, m.metric), h("td", null, c.cluster === null || c.cluster === undefined ? "(no cluster)" : c.cluster),
            h("td", { class: "n" }, str(c.n)), h("td", { class: "n" }, signed(c.delta)), h("td", null, bar(c.delta, G)))))));
      }
    }
    const errs = p.errors.filter((e) => e.failed || (e.base && e.base.errors) || (e.head && e.head.errors));
    if (errs.length) {
      add(card, h("h3", null, "Errors"), h("ul", null, errs.map((e) => h("li", { class: e.failed ? "err" : "" },
        str(e.kind) + " errors: base " + str(e.base.errors) + "/" + str(e.base.total) + ", head " + str(e.head.errors) + "/" + str(e.head.total) +
        (e.failed ? " — " + e.reason : "")))));
    }
    if (p.cases_added.length || p.cases_removed.length) {
      add(card, h("h3", null, "Cases not paired"),
        p.cases_added.length ? h("p", { class: "added" }, h("b", null, "added in head: "), p.cases_added.join(", ")) : null,
        p.cases_removed.length ? h("p", { class: "removed" }, h("b", null, "removed in head: "), p.cases_removed.join(", ")) : null);
    }
    if (p.worst_cases.length) {
      add(card, h("h3", null, "Worst regressed cases"), p.worst_cases.map((w) => h("div", { class: "worst", "data-case": w.case_id },
        h("div", { class: "worsthead" }, h("b", { class: "id" }, w.case_id), " · " + str(w.metric) + " " + num(w.base, 3) + " → " + num(w.head, 3) + " (Δ " + signed(w.delta) + ")"),
        h("div", { class: "sides" },
          h("div", null, h("div", { class: "label" }, "base"), w.diff ? diffPane(w.diff, "base") : pre(w.base_output === null ? "(error)" : w.base_output)),
          h("div", null, h("div", { class: "label" }, "head"), w.diff ? diffPane(w.diff, "head") : pre(w.head_output === null ? "(error)" : w.head_output))))));
    }
    return card;
  }
  function bar(delta, G) {
    if (!isNum(delta)) return null;
    const w = 120, scale = Math.max(0.1, 4 * (G.settings.practical || 0.02));
    const len = Math.min(w / 2, Math.abs(delta) / scale * (w / 2));
    const svg = s("svg", { width: w, height: 12, class: "bar" });
    add(svg, s("line", { x1: w / 2, x2: w / 2, y1: 0, y2: 12, class: "zero" }),
      s("rect", { x: delta < 0 ? w / 2 - len : w / 2, y: 2, width: len, height: 8, class: delta < 0 ? "neg" : "pos" }));
    return svg;
  }

  function gateView(G) {
    const root = h("div", { class: "view", "data-view": "gate" });
    add(root, h("div", { class: "verdict v-" + str(G.verdict).toLowerCase() },
      h("span", { class: "big" }, G.verdict), h("span", { class: "line" }, " " + G.line)));
    const st = G.settings || {};
    add(root, h("p", { class: "meta" }, "base " + str(G.base.label || "base") + " → head " + str(G.head.label || "head") +
      " · R = " + str(st.repeat) + ", K = " + str(st.judge_samples) + " · practical " + str(st.practical) + ", α " + str(st.alpha) + " (one-sided)"));
    add(root, section("Δ per prompt and decisive metric", forestPlot(G)));
    const gated = G.prompts.filter((p) => p.status === "gated");
    const order = { FAIL: 0, WARN: 1, PASS: 2 };
    gated.sort((a, b) => (order[a.state] ?? 3) - (order[b.state] ?? 3) || (a.prompt < b.prompt ? -1 : 1));
    add(root, gated.map((p) => promptCard(p, G)));
    const costed = G.prompts.filter((p) => p.base || p.head);
    if (costed.length) {
      add(root, section("Costs base → head", table(["prompt", "status", "model", "eval cost", "generation $ per 1k calls"],
        costed.map((p) => h("tr", { "data-prompt": p.prompt }, h("td", null, p.prompt), h("td", null, p.status),
          h("td", null, str(p.base && p.base.model) + " → " + str(p.head && p.head.model)),
          h("td", { class: "n" }, usd(p.base && p.base.eval_cost) + " → " + usd(p.head && p.head.eval_cost)),
          h("td", { class: "n" }, usd(p.base && p.base.cost_per_1k) + " → " + usd(p.head && p.head.cost_per_1k)))))));
    }
    const others = G.prompts.filter((p) => p.status !== "gated");
    if (others.length) {
      add(root, section("Not gated", h("ul", null, others.map((p) => h("li", { "data-prompt": p.prompt },
        h("b", null, p.prompt), " — " + str(p.status) + ": " + p.reason)))));
    }
    return root;
  }

  // -- page -------------------------------------------------------------------------------------------------
  const app = document.getElementById("app");
  const title = DATA.kind === "gate" ? "llmops eval gate" : "llmops eval report";
  add(app, h("header", null, h("h1", null, title), h("span", { class: "muted" }, " generated by " + str(DATA.generator))));
  if (DATA.kind === "gate") {
    const views = [["gate", "Gate", () => gateView(DATA.gate)]];
    if (DATA.results) views.push(["results", "Head results", () => resultsView(DATA.results)]);
    const main = h("main");
    if (views.length > 1) {
      const tabs = h("nav", { class: "tabs", role: "tablist" });
      const show = (name) => {
        for (const b of tabs.children) b.setAttribute("aria-selected", String(b.getAttribute("data-tab") === name));
        for (const v of main.children) v.hidden = v.getAttribute("data-view") !== name;
      };
      for (const [name, label] of views) add(tabs, h("button", { role: "tab", "data-tab": name, on: { click: () => show(name) } }, label));
      add(app, tabs);
      add(app, main);
      for (const [, , make] of views) main.appendChild(make());
      show("gate");
    } else {
      add(app, main);
      main.appendChild(views[0][2]());
    }
  } else {
    add(app, h("main", null, resultsView(DATA.results)));
  }
  document.body.setAttribute("data-ready", "1");
})();
