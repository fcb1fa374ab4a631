// The students' page of class mode: join with the class code, then run your firm quarter by quarter.
// It asks the server about once a second (GET /class/api/me); the personal code is kept in this
// browser (localStorage), so a reload or a closed lid comes back to the same firm.
"use strict";

const STORE = "aisim-class-personal-code";
let code = localStorage.getItem(STORE);
let known = null; // the session's version last shown
let screen = null;
let shownQuarter = null; // the quarter the sliders were last set for
let shownHandIn = null; // the team's decision the sliders were last set to
let deadline = null; // when the quarter closes, in this browser's clock (ms)
let newsTimer = null;
let touched = 0; // when this student last moved a slider (ms): a teammate's decision does not move it then

// Flows (budget, revenue) exist once a quarter has run: before the first one they show "–".
const OWN = [
  ["cash", "Cash", (v) => Class.money(v)],
  ["budget", "AI budget last quarter", (v, q) => (q === 0 ? "–" : Class.money(v))],
  ["ai_revenue", "AI revenue last quarter", (v, q) => (q === 0 ? "–" : Class.money(v))],
  ["market_share", "Your market share", (v) => Class.percent(v, 1)],
  ["x", "Share of the budget on LLMs now", (v) => Class.percent(v)],
  ["llm_quality", "Your LLM's quality (1 = the best of 2025)", (v) => Class.number(v)],
  ["believed_ceiling", "How good you believe LLMs can get, on the same scale", (v) => Class.number(v)],
  ["evidence_ceiling", "How good your results so far say they can get", (v) => Class.number(v)],
  ["wm_quality", "Your world model's quality (0 until it works)", (v) => Class.number(v)],
  ["valuation", "What investors say your AI business is worth", (v) => Class.money(v)],
  ["confidence", "Investors' mood (1 = neutral, above 1 = keen)", (v) => Class.number(v)],
  ["llm_sunk", "Spent on LLMs so far", (v) => Class.money(v)],
  ["wm_sunk", "Spent on world models so far", (v) => Class.money(v)],
];

function stat(value, what) {
  return Class.el("div", { class: "stat" }, Class.el("div", { class: "value" }, value), Class.el("div", { class: "what" }, what));
}

function showJoin(message = "", where = "join-error") {
  known = null;
  screen = null;
  deadline = null;
  shownQuarter = null;
  Class.show("join-form", true);
  Class.show("game", false);
  Class.text("join-error", "");
  Class.text("rejoin-error", "");
  Class.text(where, message);
  Class.text("title", "aisim class");
  Class.text("quarter", "");
  Class.text("timer", "");
}

async function poll() {
  if (!code) return;
  const reply = await Class.api(`/class/api/me?known=${known ?? ""}`, { headers: { "x-personal-code": code } });
  if (reply.offline || reply.status >= 500) return Class.show("offline", true);
  Class.show("offline", false);
  if (reply.status === 429) return Class.text("decide-error", reply.data.error);
  if (reply.status !== 200) {
    localStorage.removeItem(STORE);
    code = null;
    return showJoin(reply.data.error, screen ? "join-error" : "rejoin-error");
  }
  deadline = Class.closesAt(reply.data.seconds_left);
  if (!reply.data.unchanged) render(reply.data);
}

function news(text) {
  Class.text("news", text);
  Class.show("news", true);
  clearTimeout(newsTimer);
  newsTimer = setTimeout(() => Class.show("news", false), 5000);
}

function render(data) {
  const newQuarter = shownQuarter !== null && shownQuarter !== data.quarter;
  screen = data;
  known = data.version;
  Class.show("join-form", false);
  Class.show("game", true);
  Class.text("title", data.title);
  Class.text(
    "quarter",
    data.over ? `Game over after ${data.last_label}` : `Quarter ${data.quarter_label} (${data.round} of ${data.rounds})`,
  );
  Class.text("firm-line", `You run ${data.firm}`);
  const team = data.teams[data.firm] || [];
  Class.text(
    "team-line",
    team.length > 1 ? `Your team: ${team.map((m) => `${m.name} ${m.handed_in ? "✓" : "…"}`).join(", ")} (the last decision handed in counts)` : "",
  );
  Class.text("personal-code", data.code);
  const shares = data.market.firms[data.firm].market_share;
  const cards = OWN.map(([key, what, format]) => stat(format(data.own[key], data.quarter), what));
  if (shares.length > 1) {
    const moved = shares[shares.length - 1] - shares[shares.length - 2];
    const points = (100 * moved).toFixed(1);
    const shown = points === "-0.0" || points === "0.0" ? "0.0" : moved > 0 ? `+${points}` : points;
    cards.splice(4, 0, stat(shown, "Market share points won last quarter"));
  }
  const knowledge = data.own.wm_breakthrough
    ? "breakthrough!"
    : `${Class.number(data.own.wm_knowledge, 0)} of ${Class.number(data.own.believed_difficulty, 0)}`;
  cards.splice(9, 0, stat(knowledge, "World-model research so far, of what you believe a breakthrough needs"));
  document.getElementById("own").replaceChildren(...cards);

  Class.show("decision", !data.over && data.own.alive);
  Class.show("over", data.over);
  Class.text("decision-quarter", data.quarter_label);
  setSliders(data);
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
  if (newQuarter) news(data.over ? "The game is over." : `New quarter: ${data.quarter_label}. Last quarter's results are in.`);

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
      Class.el("td", {}, data.quarter === 0 ? "–" : Class.money(r.llm_spend)),
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

function setSliders(data) {
  // The sliders show the team's decision: set anew each quarter and whenever a teammate hands one in,
  // but never while this student is moving them.
  const target = document.getElementById("target");
  const invest = document.getElementById("invest");
  target.max = data.x_max;
  const handed = data.handed_in ? JSON.stringify(data.handed_in) : null;
  const moving = Date.now() - touched < 5000;
  if (shownQuarter === data.quarter && (handed === shownHandIn || moving)) return;
  shownQuarter = data.quarter;
  shownHandIn = handed;
  const standing = data.handed_in || data.standing; // this quarter's decision, or the one standing from before
  target.value = standing ? standing.x : data.own.x_target;
  invest.value = standing && standing.investment_share !== null ? standing.investment_share : data.own.investment_share;
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
  const money = screen.quarter === 0 ? "" : ` (about ${Class.money(budget * next)} at last quarter's budget of ${Class.money(budget)})`;
  Class.text(
    "target-hint",
    `Research teams take time to move: your firm goes ${Class.percent(speed)} of the way to your target each quarter. ` +
      `This quarter: about ${Class.percent(next)} on LLMs${money} and ${Class.percent(1 - next)} on world models.` +
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
  deadline = Class.closesAt(reply.data.seconds_left);
  touched = 0;
  render(reply.data);
}

async function join(event) {
  event.preventDefault();
  Class.text("join-error", "");
  const body = { code: document.getElementById("join-code").value, name: document.getElementById("join-name").value };
  const reply = await Class.api("/class/api/join", { method: "POST", body });
  if (reply.offline) return Class.text("join-error", "No connection to the teacher's server.");
  if (reply.status !== 200) return Class.text("join-error", reply.data.error);
  code = reply.data.code;
  localStorage.setItem(STORE, code);
  known = null;
  await poll();
}

async function rejoin(event) {
  event.preventDefault();
  Class.text("rejoin-error", "");
  code = document.getElementById("rejoin-code").value.trim();
  known = null;
  localStorage.setItem(STORE, code);
  await poll();
}

function tick() {
  if (!screen || screen.over) return Class.text("timer", "");
  if (deadline === null) return Class.text("timer", screen.playing ? "" : "Waiting for the teacher");
  const left = (deadline - Date.now()) / 1000;
  Class.text("timer", left > 0 ? `${Class.clock(left)} left` : "Time is up: the quarter is running");
}

document.getElementById("join").addEventListener("submit", join);
document.getElementById("rejoin").addEventListener("submit", rejoin);
document.getElementById("hand-in").addEventListener("click", handIn);
for (const id of ["target", "invest"]) {
  document.getElementById(id).addEventListener("input", () => {
    touched = Date.now();
    updateHints();
  });
}
setInterval(poll, 1000);
setInterval(tick, 250);
if (code) poll();
else showJoin();
