// The teacher's screen of class mode (for the projector): the join code and link, the market as it
// moves, who has handed in, the clock and the controls. The teacher's secret comes in the link after
// "#" (never sent to a server in the address), is kept in this tab (sessionStorage) and removed from
// the address bar, where the class could read it off the projector.
"use strict";

const STORE = "aisim-class-teacher-secret";
const fromLink = new URLSearchParams(location.hash.slice(1)).get("secret");
if (fromLink) {
  sessionStorage.setItem(STORE, fromLink);
  history.replaceState(null, "", location.pathname);
}
const secret = sessionStorage.getItem(STORE);
const headers = { "x-teacher-secret": secret || "" };
let known = null;
let state = null;
let deadline = null;
let replaying = null;
let polling = null;

async function poll() {
  const reply = await Class.api(`/class/api/teacher?known=${known ?? ""}`, { headers });
  if (reply.offline || reply.status >= 500) return Class.show("offline", true);
  Class.show("offline", false);
  if (reply.status === 400) clearInterval(polling); // not the teacher's secret: asking again will not help
  if (reply.status !== 200) return Class.text("error", reply.data.error);
  deadline = Class.closesAt(reply.data.seconds_left);
  if (!reply.data.unchanged) render(reply.data);
}

function render(data) {
  state = data;
  known = data.version;
  Class.text("error", "");
  Class.text("title", data.title);
  Class.text(
    "quarter",
    data.over ? `Game over after ${data.last_label}` : `Quarter ${data.quarter_label} (${data.round} of ${data.rounds})`,
  );
  Class.text("join-link", data.join_link);
  Class.text("join-code", data.join_code);
  document.getElementById("qr").innerHTML = data.qr; // the server's own SVG, no user text in it
  const seconds = document.getElementById("seconds");
  if (document.activeElement !== seconds) seconds.value = data.quarter_seconds;
  document.getElementById("play").textContent = data.playing ? "Running" : data.paused ? "Resume" : "Start";
  for (const id of ["play", "pause", "advance", "extend"]) document.getElementById(id).disabled = data.over;
  document.getElementById("play").disabled = data.over || data.playing;
  document.getElementById("pause").disabled = data.over || !data.playing;
  document.getElementById("extend").disabled = data.over || data.seconds_left === null;

  const rows = Object.entries(data.teams).map(([firm, team]) => {
    const done = team.filter((member) => member.handed_in).length;
    const nobody = data.student_firms.includes(firm) ? "no student left: keeps its last target" : "the model's own rule";
    const status = team.length === 0 ? nobody : data.over ? "" : done === team.length ? "handed in ✓" : `${done} of ${team.length} handed in`;
    const names = team.map((member) =>
      Class.el(
        "span",
        { class: member.handed_in ? "handed" : "waiting" },
        member.name,
        Class.el(
          "button",
          { class: "remove", title: `Remove ${member.name}`, "aria-label": `Remove ${member.name}`, onclick: () => remove(member) },
          "×",
        ),
      ),
    );
    return Class.el(
      "tr",
      {},
      Class.el("td", {}, firm),
      Class.el("td", {}, team.length ? names : "(no student)"),
      Class.el("td", { class: team.length === 0 ? "" : done === team.length ? "handed" : "waiting" }, status),
    );
  });
  document.getElementById("teams").replaceChildren(
    Class.el("tr", {}, Class.el("th", {}, "Firm"), Class.el("th", {}, "Run by"), Class.el("th", {}, "This quarter")),
    ...rows,
  );
  drawCharts(null);
}

function drawCharts(upTo) {
  if (!state) return;
  const firms = state.market.firms;
  const pick = (name) => Object.fromEntries(Object.keys(firms).map((firm) => [firm, firms[firm][name]]));
  const labels = state.market.quarters;
  Class.lineChart(document.getElementById("share-chart"), labels, pick("market_share"), {
    percent: true,
    upTo,
    title: "Market share of every firm, quarter by quarter",
  });
  Class.legend(document.getElementById("share-legend"), Object.keys(firms));
  Class.lineChart(document.getElementById("quality-chart"), labels, pick("llm_quality"), {
    upTo,
    title: "LLM quality of every firm, quarter by quarter",
  });
}

const SPOILERS = {
  reveal: "The game is not over: show the whole class the hidden truth (the true LLM ceiling) now?",
};

async function control(action, body = {}) {
  if (SPOILERS[action] && state && !state.over && !confirm(SPOILERS[action])) return;
  const reply = await Class.api(`/class/api/teacher/${action}`, { method: "POST", body, headers });
  if (reply.offline) return Class.text("error", "No connection to the server.");
  if (reply.status !== 200) return Class.text("error", reply.data.error);
  if (action === "reveal") {
    const hidden = reply.data.hidden;
    Class.text(
      "hidden-truth",
      `What no firm could see: the true LLM ceiling is ${Class.number(hidden.llm_ceiling)} (each student's screen ` +
        `showed how far their firm believed LLMs could go), and world models needed ` +
        `${Class.number(hidden.wm_difficulty, 0)} units of research knowledge for a breakthrough.`,
    );
    return;
  }
  deadline = Class.closesAt(reply.data.seconds_left);
  render(reply.data);
}

async function remove(member) {
  if (!confirm(`Remove ${member.name} from the class? Their code will stop working, and the quarter will no longer wait for them.`)) return;
  await control("remove", { seat: member.seat });
}

async function download(kind) {
  let response;
  try {
    response = await fetch(`/class/api/teacher/debrief.${kind}`, { headers, cache: "no-store" });
  } catch (error) {
    return Class.text("error", "No connection to the server.");
  }
  if (!response.ok) {
    const text = await response.text();
    let message = `The server answered ${response.status}.`;
    try {
      message = JSON.parse(text).error;
    } catch (error) {
      // not JSON: keep the status line
    }
    return Class.text("error", message);
  }
  const code = state ? state.join_code : "session";
  const link = Class.el("a", { href: URL.createObjectURL(await response.blob()), download: `class-${code}-debrief.${kind}` });
  document.body.append(link);
  link.click();
  link.remove();
}

async function showDebrief() {
  if (state && !state.over && !confirm("The game is not over: show each student's decisions beside the model's rules now?")) return;
  const reply = await Class.api("/class/api/teacher/debrief.json", { headers });
  if (reply.offline) return Class.text("error", "No connection to the server.");
  if (reply.status !== 200) return Class.text("error", reply.data.error);
  const columns = [
    ["quarter", "Quarter", (v) => v],
    ["student", "Student", (v) => v],
    ["firm", "Firm", (v) => v],
    ["student_target", "Student's target", (v) => Class.percent(v)],
    ["x", "Firm's split", (v) => Class.percent(v)],
    ["rule_target", "Biased rule's target", (v) => Class.percent(v)],
    ["ev_target", "Expected value's target", (v) => Class.percent(v)],
    ["drivers", "Drivers pushing", (v) => v || "–"],
    ["share", "Share", (v) => Class.percent(v, 1)],
    ["biased_share", "Share, biased firm", (v) => Class.percent(v, 1)],
    ["expected_value_share", "Share, expected-value firm", (v) => Class.percent(v, 1)],
  ];
  const head = Class.el("tr", {}, columns.map(([, title]) => Class.el("th", {}, title)));
  const rows = reply.data.rows.map((row) => Class.el("tr", {}, columns.map(([key, , format]) => Class.el("td", {}, format(row[key])))));
  document.getElementById("debrief-table").replaceChildren(head, ...rows);
  Class.show("debrief", true);
  if (!rows.length) Class.text("error", "Nothing to debrief yet: no student has played a quarter.");
}

function replay() {
  if (!state || !state.market.quarters.length) return;
  clearInterval(replaying);
  let upTo = 1;
  replaying = setInterval(() => {
    drawCharts(upTo);
    if (++upTo > state.market.quarters.length) {
      clearInterval(replaying);
      replaying = null;
    }
  }, Math.max(60, 4000 / state.market.quarters.length));
}

function tick() {
  if (!state) return;
  if (state.over) return Class.text("timer", "Game over");
  if (deadline === null) return Class.text("timer", state.playing ? "" : "Paused");
  Class.text("timer", `${Class.clock((deadline - Date.now()) / 1000)} left`);
}

document.getElementById("play").addEventListener("click", () => control("play", { seconds: Number(document.getElementById("seconds").value) }));
document.getElementById("pause").addEventListener("click", () => control("pause"));
document.getElementById("advance").addEventListener("click", () => control("advance"));
document.getElementById("extend").addEventListener("click", () => control("extend", { seconds: 30 }));
document.getElementById("reveal").addEventListener("click", () => control("reveal"));
document.getElementById("replay").addEventListener("click", replay);
document.getElementById("show-debrief").addEventListener("click", showDebrief);
document.getElementById("csv").addEventListener("click", () => download("csv"));
document.getElementById("summary").addEventListener("click", () => download("html"));
document.getElementById("hide-join").addEventListener("click", (event) => {
  const box = document.getElementById("join-box");
  box.hidden = !box.hidden;
  event.target.textContent = box.hidden ? "Show the join code" : "Hide the join code";
});
if (!secret) Class.text("error", "This page needs the teacher's link that `aisim class` printed (it ends in #secret=...).");
else {
  polling = setInterval(poll, 1000);
  poll();
}
setInterval(tick, 250);
