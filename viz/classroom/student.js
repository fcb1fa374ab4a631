// The students' page of class mode: join with the class code, then run your firm quarter by quarter.
// It asks the server about once a second (GET /class/api/me); the personal code is kept in this
// browser (localStorage), so a reload or a closed lid comes back to the same firm.
"use strict";

const STORE = "aisim-class-personal-code";
let code = localStorage.getItem(STORE);
let known = null; // the session's version last shown
let screen = null;
let shownQuarter = null; // the quarter the sliders were last set for
let deadline = null; // when the quarter closes, in this browser's clock (ms)

const OWN = [
  ["cash", "Cash", (v) => Class.money(v)],
  ["budget", "AI budget this quarter", (v) => Class.money(v)],
  ["ai_revenue", "AI revenue last quarter", (v) => Class.money(v)],
  ["market_share", "Your market share", (v) => Class.percent(v, 1)],
  ["x", "Budget on LLMs now", (v) => Class.percent(v)],
  ["llm_quality", "Your LLM's quality", (v) => Class.number(v)],
  ["wm_quality", "Your world model's quality", (v) => Class.number(v)],
  ["wm_breakthrough", "World-model breakthrough", (v) => (v ? "yes!" : "not yet")],
  ["believed_ceiling", "How far you believe LLMs can go", (v) => Class.number(v)],
  ["evidence_ceiling", "How far your results so far say they can go", (v) => Class.number(v)],
  ["valuation", "What investors say you are worth", (v) => Class.money(v)],
  ["confidence", "Investors' confidence (1: neutral)", (v) => Class.number(v)],
  ["llm_sunk", "Spent on LLMs so far", (v) => Class.money(v)],
  ["wm_sunk", "Spent on world models so far", (v) => Class.money(v)],
];

function stat(value, what) {
  return Class.el("div", { class: "stat" }, Class.el("div", { class: "value" }, value), Class.el("div", { class: "what" }, what));
}

function showJoin(message = "") {
  known = null;
  screen = null;
  deadline = null;
  shownQuarter = null;
  Class.show("join-form", true);
  Class.show("game", false);
  Class.text("join-error", message);
  Class.text("title", "aisim class");
  Class.text("quarter", "");
  Class.text("timer", "");
}

async function poll() {
  if (!code) return showJoin(document.getElementById("join-error").textContent);
  const reply = await Class.api(`/class/api/me?known=${known ?? ""}`, { headers: { "x-personal-code": code } });
  if (reply.offline || reply.status >= 500) return Class.show("offline", true);
  Class.show("offline", false);
  if (reply.status === 429) return Class.text("decide-error", reply.data.error);
  if (reply.status !== 200) {
    localStorage.removeItem(STORE);
    code = null;
    return showJoin(reply.data.error);
  }
  setDeadline(reply.data.seconds_left);
  if (!reply.data.unchanged) render(reply.data);
}

function setDeadline(seconds) {
  deadline = seconds === null || seconds === undefined ? null : Date.now() + 1000 * seconds;
}

function render(data) {
  screen = data;
  known = data.version;
  Class.show("join-form", false);
  Class.show("game", true);
  Class.text("title", data.title);
  Class.text("quarter", `Quarter ${data.quarter_label} (${Math.min(data.quarter + 1, data.quarters)} of ${data.quarters})`);
  const team = data.team.length > 1 ? ` (your team: ${data.team.join(", ")})` : "";
  Class.text("firm-line", `You run ${data.firm}${team}`);
  Class.text("personal-code", data.code);
  const shares = data.market.firms[data.firm].market_share;
  const moved = shares.length > 1 ? shares[shares.length - 1] - shares[shares.length - 2] : null;
  const cards = OWN.map(([key, what, format]) => stat(format(data.own[key]), what));
  if (moved !== null) {
    const points = (100 * moved).toFixed(1);
    cards.splice(4, 0, stat(`${moved >= 0 ? "+" : ""}${points}`, "Market share points won last quarter"));
  }
  document.getElementById("own").replaceChildren(...cards);

  Class.show("decision", !data.over && data.own.alive);
  Class.show("over", data.over);
  Class.text("decision-quarter", data.quarter_label);
  const target = document.getElementById("target");
  const invest = document.getElementById("invest");
  target.max = data.x_max;
  if (shownQuarter !== data.quarter) {
    // A new quarter: the sliders start from the firm's standing target (the student's, while dragging, otherwise)
    shownQuarter = data.quarter;
    // the decision handed in for this quarter, or else the target standing from earlier, or else where the firm is
    const standing = data.handed_in || data.standing;
    target.value = standing ? standing.x : data.own.x_target;
    invest.value = standing && standing.investment_share !== null ? standing.investment_share : data.own.investment_share;
  }
  const handed = data.handed_in;
  Class.text(
    "handed-in",
    handed
      ? `Handed in by ${handed.by}: ${Class.percent(handed.x)} on LLMs` +
          (handed.investment_share === null ? "" : `, ${Class.percent(handed.investment_share)} of investment capacity`) +
          ". You can change it until the quarter closes."
      : "Not handed in yet: without a decision your firm keeps moving toward its last target.",
  );
  updateHints();

  const firms = data.market.firms;
  const everyone = Object.fromEntries(Object.keys(firms).map((name) => [name, firms[name].market_share]));
  Class.lineChart(document.getElementById("share-chart"), data.market.quarters, everyone, {
    percent: true,
    bold: data.firm,
    title: "Market share of every firm, quarter by quarter",
  });
  Class.legend(document.getElementById("share-legend"), Object.keys(firms), data.firm);
  const rows = data.rivals.map((r) =>
    Class.el(
      "tr",
      {},
      Class.el("td", {}, r.firm + (r.alive ? "" : " (out)")),
      Class.el("td", {}, Class.percent(r.market_share, 1)),
      Class.el("td", {}, Class.number(r.llm_quality)),
      Class.el("td", {}, Class.number(r.wm_quality)),
      Class.el("td", {}, r.wm_breakthrough ? "announced!" : "no"),
      Class.el("td", {}, Class.money(r.llm_spend)),
    ),
  );
  const head = Class.el(
    "tr",
    {},
    ["Firm", "Market share", "LLM quality", "World-model quality", "World-model breakthrough", "LLM spend last quarter"].map((h) =>
      Class.el("th", {}, h),
    ),
  );
  document.getElementById("rivals").replaceChildren(head, ...rows);
}

function updateHints() {
  if (!screen) return;
  const target = Number(document.getElementById("target").value);
  const invest = Number(document.getElementById("invest").value);
  Class.text("target-text", `${Class.percent(target)} LLMs, ${Class.percent(1 - target)} world models`);
  Class.text("invest-text", Class.percent(invest));
  const now = screen.own.x;
  const speed = screen.adjustment_speed;
  const next = Math.min(now + speed * (target * screen.llm_carries_product - now), screen.x_max);
  const budget = screen.own.budget;
  Class.text(
    "target-hint",
    `Research teams take time to move: your firm goes ${Class.percent(speed)} of the way to your target each quarter. ` +
      `Next quarter: about ${Class.percent(next)} on LLMs (${Class.money(budget * next)} of this quarter's ` +
      `${Class.money(budget)} budget) and ${Class.percent(1 - next)} on world models.` +
      (screen.x_max < 1 ? ` At most ${Class.percent(screen.x_max)} may go to LLMs: the rest is protected for world models.` : ""),
  );
}

async function handIn() {
  const body = {
    x: Number(document.getElementById("target").value),
    investment_share: Number(document.getElementById("invest").value),
  };
  const reply = await Class.api("/class/api/decide", { method: "POST", body, headers: { "x-personal-code": code } });
  if (reply.offline) return Class.text("decide-error", "Not handed in: no connection to the server. Try again.");
  if (reply.status !== 200) return Class.text("decide-error", reply.data.error);
  Class.text("decide-error", "");
  setDeadline(reply.data.seconds_left);
  render(reply.data);
}

async function join(event) {
  event.preventDefault();
  const body = { code: document.getElementById("join-code").value, name: document.getElementById("join-name").value };
  const reply = await Class.api("/class/api/join", { method: "POST", body });
  if (reply.offline) return Class.text("join-error", "No connection to the teacher's server.");
  if (reply.status !== 200) return Class.text("join-error", reply.data.error);
  code = reply.data.code;
  localStorage.setItem(STORE, code);
  known = null;
  Class.text("join-error", "");
  await poll();
}

async function rejoin(event) {
  event.preventDefault();
  code = document.getElementById("rejoin-code").value.trim();
  known = null;
  Class.text("join-error", "");
  localStorage.setItem(STORE, code);
  await poll();
}

function tick() {
  if (!screen || screen.over) return Class.text("timer", screen && screen.over ? "Game over" : "");
  if (deadline === null) return Class.text("timer", screen.playing ? "" : "Waiting for the teacher");
  Class.text("timer", `${Class.clock((deadline - Date.now()) / 1000)} left`);
}

document.getElementById("join").addEventListener("submit", join);
document.getElementById("rejoin").addEventListener("submit", rejoin);
document.getElementById("hand-in").addEventListener("click", handIn);
document.getElementById("target").addEventListener("input", updateHints);
document.getElementById("invest").addEventListener("input", updateHints);
setInterval(poll, 1000);
setInterval(tick, 250);
poll();
