// betbot console: plain JavaScript over the HTTP API (/api/v1), live pages over server-sent events.
// No inline script, no third-party code; every value from the server is set as text, never as HTML.
"use strict";

const state = { csrf: null, readOnly: false, stream: null, timer: null };
const main = () => document.getElementById("main");

// -- DOM helpers ----------------------------------------------------------------------------------------
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}
const SVG = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) el.setAttribute(key, String(value));
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}
function show(...nodes) { main().replaceChildren(...nodes.filter((n) => n !== null && n !== undefined)); }
function card(label, value, cls) {
  return h("div", { class: "card" }, h("div", { class: "label" }, label), h("div", { class: "value " + (cls || "") }, value ?? "–"));
}
function signed(text) { return text && text.startsWith("-") ? "loss" : text && text !== "0.00000000" ? "win" : ""; }
function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

// -- the API --------------------------------------------------------------------------------------------
async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
  const response = await fetch("/api/v1" + path, { method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401 && path !== "/login") { location.hash = "#/login"; throw new Error("log in first"); }
  const data = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) throw new Error(data?.error || `HTTP ${response.status}`);
  return data;
}
function errorBox() { return h("div", { class: "error", id: "error", role: "alert" }); }
function fail(error) { const box = document.getElementById("error"); if (box) box.textContent = error.message; }

// -- routing --------------------------------------------------------------------------------------------
function stopLive() {
  if (state.stream) { state.stream.close(); state.stream = null; }
  if (state.timer) { clearInterval(state.timer); state.timer = null; }
}
async function route() {
  stopLive();
  const hash = location.hash || "#/";
  for (const id of ["nav-overview", "nav-new", "nav-history"]) document.getElementById(id).classList.remove("active");
  if (hash === "#/login") return loginPage();
  if (state.csrf === null) {
    try { const me = await api("GET", "/me"); state.csrf = me.csrf; state.readOnly = me.read_only; }
    catch (error) { return; }
  }
  document.getElementById("who").textContent = state.readOnly ? "read-only" : "";
  document.getElementById("nav-new").classList.toggle("hidden", state.readOnly);
  if (hash.startsWith("#/session/")) return sessionPage(decodeURIComponent(hash.slice(10)));
  if (hash === "#/new") { document.getElementById("nav-new").classList.add("active"); return newPage(); }
  if (hash === "#/history") { document.getElementById("nav-history").classList.add("active"); return historyPage(); }
  if (hash.startsWith("#/history/")) { document.getElementById("nav-history").classList.add("active"); return historyPage(hash.slice(10)); }
  document.getElementById("nav-overview").classList.add("active");
  return overviewPage();
}
window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", route);

// -- login ----------------------------------------------------------------------------------------------
function loginPage() {
  const input = h("input", { type: "password", id: "token", autocomplete: "current-password", required: true });
  const form = h("form", { class: "stack", id: "login-form", onsubmit: async (event) => {
    event.preventDefault();
    try {
      const result = await api("POST", "/login", { token: input.value });
      state.csrf = result.csrf; state.readOnly = result.read_only; location.hash = "#/";
    } catch (error) { fail(error); }
  } }, h("label", { for: "token" }, "Token (in the serve-token file of the data directory)"), input,
     h("p", {}, h("button", { type: "submit" }, "Log in")), errorBox());
  show(h("h1", {}, "Log in"), form);
  input.focus();
}

// -- overview -------------------------------------------------------------------------------------------
function closest(limit) {
  if (!limit) return "–";
  const eta = limit.eta_seconds === null ? "" : `, ~${duration(limit.eta_seconds)}`;
  return `${limit.name} ${Math.round(limit.used * 100)} %${eta}`;
}
function campaignText(campaign) {
  if (!campaign) return "";
  const id = campaign.id === null ? "campaign" : `campaign ${campaign.id}`;
  return `${id}: session ${campaign.sessions_total}${campaign.waiting ? " ended, the next one waits" : ""}, total ${campaign.total_profit}` +
    (campaign.ended ? ` (ended: ${campaign.ended})` : "");
}
function overviewRow(session) {
  const backoff = session.backoff?.active ? `backing off ${session.backoff.remaining_seconds} s` : "";
  return h("tr", {},
    h("td", {}, h("a", { href: `#/session/${encodeURIComponent(session.name)}` }, session.name)),
    h("td", {}, h("span", { class: `state ${session.state}` }, session.state)),
    h("td", {}, session.strategy + (session.live ? " (live)" : ""),
      session.campaign ? h("div", { class: "help" }, campaignText(session.campaign)) : null), h("td", {}, session.currency),
    h("td", { class: "num" }, session.balance ?? "–"), h("td", { class: "num " + signed(session.profit) }, session.profit ?? "–"),
    h("td", { class: "num" }, session.bets ?? 0), h("td", { class: "num" }, session.bets_per_s ?? 0),
    h("td", { class: "num" }, session.in_flight ?? 0), h("td", {}, backoff),
    h("td", {}, closest(session.closest_limit)), h("td", { class: "muted" }, session.error || session.stop_reason || ""));
}
async function overviewPage() {
  const body = h("tbody", { id: "sessions" });
  const table = h("table", {}, h("thead", {}, h("tr", {}, ...["Session", "State", "Strategy", "Cur.", "Balance", "Profit",
    "Bets", "Bets/s", "In flight", "Back-off", "Closest limit", "Stop reason"].map((t, i) => h("th", { class: i >= 4 && i <= 8 ? "num" : "" }, t)))), body);
  show(h("h1", {}, "Sessions"), table, h("p", { class: "muted", id: "empty" }), errorBox());
  async function refresh() {
    try {
      const data = await api("GET", "/sessions");
      body.replaceChildren(...data.sessions.map(overviewRow));
      document.getElementById("empty").textContent = data.sessions.length ? "" : "No session yet: start one from New session.";
    } catch (error) { fail(error); }
  }
  await refresh();
  state.timer = setInterval(refresh, 2000);  // the overview is a summary; each session's page is live (SSE)
}

// -- a session, live ------------------------------------------------------------------------------------
function chart(points, start) {
  const width = 800, height = 240, pad = 40;
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", id: "balance-chart" });
  if (!points || points.length === 0) return svg;
  const xs = points.map((p) => p[0]), ys = points.map((p) => Number(p[1]));
  const base = Number(start);
  const xmin = Math.min(...xs), xmax = Math.max(...xs, xmin + 1);
  const ymin = Math.min(...ys, base), ymax = Math.max(...ys, base);
  const span = ymax - ymin || 1;
  const x = (v) => pad + (v - xmin) / (xmax - xmin) * (width - pad - 10);
  const y = (v) => 10 + (ymax - v) / span * (height - 30);
  svg.append(s("line", { class: "base", x1: pad, x2: width - 10, y1: y(base), y2: y(base) }));
  svg.append(s("polyline", { points: points.map((p) => `${x(p[0]).toFixed(1)},${y(Number(p[1])).toFixed(1)}`).join(" ") }));
  svg.append(s("text", { x: 2, y: 14 }, ymax.toFixed(4)), s("text", { x: 2, y: height - 22 }, ymin.toFixed(4)),
             s("text", { x: width - 10, y: height - 4, "text-anchor": "end" }, `bet ${xmax}`));
  return svg;
}
function bars(limits) {
  if (!limits || limits.length === 0) return h("p", { class: "muted" }, "No limit set.");
  return limits.map((limit) => {
    const fill = h("div", { class: "fill" + (limit.used > 0.8 ? " hot" : "") });
    fill.style.width = `${Math.round(limit.used * 100)}%`;
    const eta = limit.eta_seconds === null ? "" : `ETA ~${duration(limit.eta_seconds)}`;
    return h("div", { class: "bar", "data-limit": limit.name },
      h("div", { class: "caption" }, h("span", {}, `${limit.name} ${limit.value}`), h("span", {}, `${Math.round(limit.used * 100)} % ${eta}`)),
      h("div", { class: "track" }, fill));
  });
}
function lastBets(bets) {
  return h("table", {}, h("thead", {}, h("tr", {}, ...["#", "Stake", "Chance", "Roll", "Profit", "Balance"].map((t) => h("th", { class: "num" }, t)))),
    h("tbody", {}, ...(bets || []).map((bet) => h("tr", {},
      h("td", { class: "num" }, bet.seq), h("td", { class: "num" }, bet.amount), h("td", { class: "num" }, `${bet.chance} ${bet.high ? "hi" : "lo"}`),
      h("td", { class: "num" }, (bet.roll / 100).toFixed(2)), h("td", { class: "num " + (bet.win ? "win" : "loss") }, bet.profit),
      h("td", { class: "num" }, bet.balance)))));
}
function controls(session) {
  if (state.readOnly) return h("p", { class: "muted" }, "Read-only console: no controls.");
  const live = ["running", "paused", "starting"].includes(session.state);
  const stoppable = live || session.state === "waiting";  // a campaign between two sessions: stop ends it
  const act = (path) => async () => { try { await api("POST", `/sessions/${encodeURIComponent(session.name)}/${path}`); } catch (error) { fail(error); } };  // the next tick shows it
  const limitName = h("select", { id: "tighten-name" }, ...["max_bets", "max_duration", "stop_loss", "take_profit", "trailing_stop", "max_losses", "max_wins", "max_bet", "min_balance"].map((n) => h("option", { value: n }, n)));
  const limitValue = h("input", { id: "tighten-value", placeholder: "e.g. 500, 5, 10%, 10m" });
  const tighten = h("form", { class: "controls", onsubmit: async (event) => {
    event.preventDefault();
    const value = ["max_bets", "max_losses", "max_wins"].includes(limitName.value) ? Number(limitValue.value) : limitValue.value;
    try {
      const result = await api("POST", `/sessions/${encodeURIComponent(session.name)}/limits`, { [limitName.value]: value });
      document.getElementById("notice").textContent = result.notes.join("; ");
    } catch (error) { fail(error); }
  } }, limitName, limitValue, h("button", { type: "submit", class: "secondary", disabled: !live }, "Tighten"));
  return h("div", {},
    h("div", { class: "controls" },
      h("button", { id: "stop", onclick: act("stop"), disabled: !stoppable }, "Stop (drain)"),
      h("button", { id: "stop-now", class: "danger", onclick: act("stop-now"), disabled: !stoppable }, "Stop now"),
      session.state === "paused"
        ? h("button", { id: "resume", class: "secondary", onclick: act("resume") }, "Resume")
        : h("button", { id: "pause", class: "secondary", onclick: act("pause"), disabled: !live }, "Pause")),
    tighten, h("div", { class: "notice", id: "notice" }));
}
let render = () => {};
function sessionPage(name) {
  const view = h("div", { id: "session" });
  show(view, errorBox());
  let lastControls = "";
  const controlBox = h("div", { id: "controls" });
  render = (session) => {
    const key = `${session.state}`;
    if (key !== lastControls) { controlBox.replaceChildren(controls(session)); lastControls = key; }
    const seeds = session.seeds;
    view.replaceChildren(...[
      h("h1", {}, `${session.name} `, h("span", { class: `state ${session.state}`, id: "state" }, session.state)),
      h("p", { class: "muted" }, `${session.strategy} on the ${session.live ? "site (LIVE)" : "simulator"}, ${session.currency}, concurrency ${session.concurrency ?? "–"}` +
        (session.session_id ? `, journal session ${session.session_id}` : "") + (session.account ? `, ${session.account}` : "")),
      session.error ? h("p", { class: "error" }, session.error) : null,
      session.stop_reason ? h("p", { class: "notice", id: "stop-reason" }, session.stop_reason) : null,
      session.campaign ? h("p", { class: "notice", id: "campaign" }, campaignText(session.campaign) +
        `; ${session.campaign.sessions} ended with ${session.campaign.profit}` +
        (Object.keys(session.campaign.budget).length ? `; budget ${Object.entries(session.campaign.budget).map(([k, v]) => `${k} ${v}`).join(", ")}` : "")) : null,
      h("div", { class: "grid" },
        card("Balance", session.balance), card("Profit", session.profit, signed(session.profit)),
        h("div", { class: "card" }, h("div", { class: "label" }, "Bets"), h("div", { class: "value", id: "bets" }, session.bets ?? 0)),
        card("Bets/s", session.bets_per_s), card("In flight", session.in_flight), card("Wagered", session.wagered),
        card("Streak", session.streak), card("Longest win / loss", `${session.longest_win_streak ?? 0} / ${session.longest_loss_streak ?? 0}`),
        card("Back-off", session.backoff?.active ? `${session.backoff.remaining_seconds} s` : "no")),
      h("div", { class: "cols" },
        h("div", {}, h("h2", {}, "Balance"), chart(session.chart, session.starting_balance), h("h2", {}, "Last bets"), lastBets(session.last_bets)),
        h("div", {}, h("h2", {}, "Controls"), controlBox, h("h2", {}, "Limits"), bars(session.limits),
          h("h2", {}, "Seed pair"), seeds ? h("div", { class: "mono" }, `server seed hash ${seeds.server_seed_hash}`, h("br"), `client seed ${seeds.client_seed}, first nonce ${seeds.first_nonce}`) : h("p", { class: "muted" }, "–"),
          h("h2", {}, "Verification"), h("p", { id: "verification" }, session.verification || (session.state === "ended" ? "–" : "at the end")),
          session.summary ? h("div", { id: "summary" }, h("h2", {}, "Summary"),
            h("table", {}, h("tbody", {}, ...["bets", "wins", "losses", "profit", "balance", "wagered", "stop_reason"].map((k) =>
              h("tr", {}, h("td", { class: "muted" }, k), h("td", { class: "num", "data-field": k }, String(session.summary[k] ?? "–"))))))) : null,
          h("h2", {}, "Events"), h("div", {}, ...(session.notes || []).slice(-8).reverse().map((note) =>
            h("div", { class: "help" }, `${new Date(note.time * 1000).toLocaleTimeString()} ${note.text}`)))))].filter(Boolean));
  };
  api("GET", `/sessions/${encodeURIComponent(name)}`).then(render).catch(fail);
  const stream = new EventSource(`/api/v1/sessions/${encodeURIComponent(name)}/events`);
  state.stream = stream;
  stream.addEventListener("tick", (event) => render(JSON.parse(event.data)));
  stream.addEventListener("end", (event) => { render(JSON.parse(event.data)); stream.close(); });
}

// -- a new session --------------------------------------------------------------------------------------
function field(name, schema, value) {
  const id = `param-${name}`;
  let input;
  if (schema.type === "boolean") input = h("input", { type: "checkbox", id, name, checked: value === true });
  else if (schema.enum || schema.anyOf?.some((a) => a.enum)) {
    const options = schema.enum || schema.anyOf.find((a) => a.enum).enum;
    input = h("select", { id, name }, ...options.map((o) => h("option", { value: o, selected: o === value }, o)));
  } else input = h("input", { id, name, value: value ?? "", inputmode: ["number", "integer"].includes(schema.type) ? "decimal" : null });
  return h("div", {}, h("label", { for: id }, name), input, schema.description ? h("div", { class: "help" }, schema.description) : null);
}
const SETTINGS = [
  ["currency", "DOGE", "currency symbol"], ["balance", "100", "simulated starting balance"],
  ["max_bets", "1000", "place exactly this many bets"], ["max_duration", "", "e.g. 10m"],
  ["stop_loss", "", "amount or % of the balance"], ["take_profit", "", "amount or %"],
  ["max_concurrent", "1", "bets in flight at once"], ["sim_latency", "", "simulated latency, e.g. 50ms"], ["seed", "", "simulator seed"],
  ["pause_between", "", "with repeat: the pause between two sessions, e.g. 1m"], ["total_stop_loss", "", "with repeat: the campaign's loss bound"],
  ["total_take_profit", "", "with repeat: end the campaign at this profit"], ["max_sessions", "", "with repeat: at most this many sessions"],
];
async function newPage() {
  if (state.readOnly) return show(h("p", {}, "Read-only console: no new session."));
  const catalogue = await api("GET", "/strategies");
  const kind = h("select", { id: "kind" }, h("option", { value: "strategy" }, "Built-in strategy"),
    h("option", { value: "preset" }, "Preset (strategies/*.toml)"), h("option", { value: "lua" }, "Lua script on the server"));
  const choice = h("select", { id: "choice" });
  const params = h("fieldset", { id: "params" });
  const settings = h("fieldset", {}, h("legend", {}, "Settings"),
    ...SETTINGS.map(([name, value, help]) => h("div", {}, h("label", { for: `set-${name}` }, name),
      h("input", { id: `set-${name}`, name, value }), h("div", { class: "help" }, help))),
    h("label", {}, h("input", { type: "checkbox", id: "set-live" }), " live (real money, with the server's key)"),
    h("label", {}, h("input", { type: "checkbox", id: "set-repeat" }), " repeat: a new session after each take-profit or stop-loss (a campaign)"));
  const name = h("input", { id: "session-name", placeholder: "optional" });
  const preview = h("div", { id: "preview", class: "preview hidden" });
  function fillChoices() {
    const items = kind.value === "strategy" ? catalogue.builtins : kind.value === "preset" ? catalogue.presets : catalogue.lua;
    choice.replaceChildren(...items.map((item) => h("option", { value: item.name }, item.name + (item.summary ? ` — ${item.summary}` : ""))));
    fillParams();
  }
  function fillParams() {
    params.replaceChildren(h("legend", {}, "Parameters"));
    if (kind.value !== "strategy") { params.append(h("p", { class: "help" }, "The file's own parameters.")); return; }
    const strategy = catalogue.builtins.find((b) => b.name === choice.value);
    const properties = strategy?.params?.properties || {};
    for (const [key, schema] of Object.entries(properties)) params.append(field(key, schema, schema.default));
  }
  kind.addEventListener("change", fillChoices);
  choice.addEventListener("change", fillParams);
  function request() {
    const body = { settings: {}, params: {} };
    if (name.value) body.name = name.value;
    body[kind.value] = choice.value;
    for (const input of params.querySelectorAll("input, select")) {
      if (input.type === "checkbox") body.params[input.name] = input.checked;
      else if (input.value !== "") body.params[input.name] = input.value;
    }
    for (const [key] of SETTINGS) {
      const value = document.getElementById(`set-${key}`).value.trim();
      if (value === "") continue;
      if (key === "max_concurrent") { const n = Number(value); if (n > 1) { body.settings.parallel = true; body.settings.max_concurrent = n; } }
      else body.settings[key] = ["max_bets", "max_sessions"].includes(key) ? Number(value) : value;
    }
    if (document.getElementById("set-live").checked) body.settings.live = true;
    if (document.getElementById("set-repeat").checked) body.settings.repeat = true;
    return body;
  }
  const form = h("form", { class: "stack", id: "start-form", onsubmit: async (event) => {
    event.preventDefault();
    try { const session = await api("POST", "/sessions", request()); location.hash = `#/session/${encodeURIComponent(session.name)}`; }
    catch (error) { fail(error); }
  } },
    h("label", { for: "kind" }, "What to play"), kind, h("label", { for: "choice" }, "Which"), choice,
    h("label", { for: "session-name" }, "Session name"), name, params, settings,
    h("div", { class: "controls" },
      h("button", { type: "button", class: "secondary", id: "preview-button", onclick: async () => {
        preview.classList.remove("hidden"); preview.textContent = "Simulating…";
        try {
          const p = await api("POST", "/preview", request());
          preview.replaceChildren(h("strong", {}, "Risk preview "), `over ${p.sessions} simulated sessions: P(stop-loss) ${(p.p_stop_loss * 100).toFixed(2)} %, ` +
            `P(bust) ${(p.p_ruin * 100).toFixed(2)} %, median profit ${p.median_profit}, 5 % profit ${p.profit_5pct}, expected loss to the edge ${p.expected_loss}`);
        } catch (error) { preview.textContent = ""; fail(error); }
      } }, "Risk preview"),
      h("button", { type: "submit", id: "start" }, "Start")), preview, errorBox());
  show(h("h1", {}, "New session"), form);
  fillChoices();
}

// -- history --------------------------------------------------------------------------------------------
async function historyPage(id) {
  const data = await api("GET", "/history");
  const rows = data.sessions.map((r) => h("tr", {},
    h("td", {}, h("a", { href: `#/history/${r.id}` }, r.id)), h("td", {}, r.started_at.slice(0, 19).replace("T", " ")),
    h("td", {}, r.strategy), h("td", {}, r.backend), h("td", {}, r.currency), h("td", { class: "num" }, r.bets ?? "–"),
    h("td", { class: "num " + signed(r.profit) }, r.profit ?? "–"), h("td", { class: "muted" }, r.stop_reason || (r.ended_at ? "" : "running or interrupted"))));
  const table = h("table", {}, h("thead", {}, h("tr", {}, ...["#", "Started (UTC)", "Strategy", "Backend", "Cur.", "Bets", "Profit", "Stop reason"].map((t) => h("th", {}, t)))), h("tbody", {}, ...rows));
  const record = data.sessions.find((r) => String(r.id) === String(id));
  const resume = async () => {  // a session another process runs is refused (409): the message names it
    try { const session = await api("POST", "/sessions", { resume: Number(id) }); location.hash = `#/session/${encodeURIComponent(session.name)}`; }
    catch (error) { fail(error); }
  };
  const detail = id ? h("div", {}, h("h2", {}, `Session ${id}`),
    h("div", { class: "controls" },
      record?.resumable && !state.readOnly ? h("button", { id: "resume-session", onclick: resume }, "Resume here") : null,
      h("a", { class: "button secondary", href: `/api/v1/history/${id}/export?format=csv`, download: `betbot-session-${id}.csv` }, "Export CSV"),
      h("a", { class: "button secondary", href: `/api/v1/history/${id}/export?format=jsonl`, download: `betbot-session-${id}.jsonl` }, "Export JSON Lines"),
      h("a", { class: "button secondary", href: `/api/v1/history/${id}/report`, target: "_blank", rel: "noopener" }, "Open the report")),
    h("iframe", { class: "report", src: `/api/v1/history/${id}/report`, title: `report of session ${id}` })) : null;
  show(h("h1", {}, "History"), table, detail, errorBox());
}
