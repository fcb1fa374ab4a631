// Shared by the students' and the teacher's pages of class mode (viz/classroom_web.py serves them).
// No framework and nothing from the internet: plain DOM, fetch and SVG, so it runs on a school laptop
// or a phone with no connection but the one to the teacher's server.
"use strict";

const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];

const Class = {
  /** Call the API: {status, data}, or {offline: true} when the server cannot be reached. */
  async api(path, { method = "GET", body = null, headers = {} } = {}) {
    const options = { method, headers: { ...headers }, cache: "no-store" };
    if (body !== null) {
      options.body = JSON.stringify(body);
      options.headers["content-type"] = "application/json";
    }
    let response;
    try {
      response = await fetch(path, options);
    } catch (error) {
      return { offline: true };
    }
    let data;
    try {
      data = await response.json();
    } catch (error) {
      data = { error: `the server answered ${response.status}` };
    }
    return { status: response.status, data };
  },

  /** An element with attributes and children (text children become text nodes: never HTML). */
  el(tag, attributes = {}, ...children) {
    const element = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) {
      if (key === "class") element.className = value;
      else if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
      else element.setAttribute(key, value);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) element.append(child instanceof Node ? child : String(child));
    }
    return element;
  },

  show(id, visible) {
    document.getElementById(id).hidden = !visible;
  },

  text(id, value) {
    document.getElementById(id).textContent = value;
  },

  percent(value, digits = 0) {
    return value === null || value === undefined ? "–" : `${(100 * value).toFixed(digits)}%`;
  },

  money(value) {
    if (value === null || value === undefined) return "–";
    const sign = value < 0 ? "−" : "";
    const size = Math.abs(value);
    return `${sign}$${size >= 100 ? size.toFixed(0) : size.toFixed(1)}B`;
  },

  number(value, digits = 2) {
    return value === null || value === undefined ? "–" : Number(value).toFixed(digits);
  },

  /** When a quarter with ``seconds`` left closes, in this browser's clock (ms); null without a timer. */
  closesAt(seconds) {
    return seconds === null || seconds === undefined ? null : Date.now() + 1000 * seconds;
  },

  clock(seconds) {
    if (seconds === null || seconds === undefined) return "no timer";
    const whole = Math.max(0, Math.ceil(seconds));
    return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
  },

  colour(index) {
    return COLOURS[index % COLOURS.length];
  },

  /**
   * A line chart into the <svg> ``svg``: one line per series ({name: [values]}), over ``labels``,
   * the first ``upTo`` points (all by default). ``bold`` names a series drawn thicker (the student's own).
   */
  lineChart(svg, labels, series, { percent = false, upTo = null, bold = null, title = "" } = {}) {
    // as wide in its own units as on screen, so that its text is 12-13 px on a phone and on a projector
    const width = Math.max(320, Math.min(900, svg.clientWidth || 640)), height = 260, left = 48, right = 12, top = 14, bottom = 30;
    const names = Object.keys(series);
    const count = upTo === null ? labels.length : upTo;
    let high = percent ? 1 : 0;
    for (const name of names) for (const v of series[name].slice(0, count)) if (v !== null && v > high) high = v;
    high = high || 1;
    const x = (i) => left + (labels.length <= 1 ? 0 : (i * (width - left - right)) / (labels.length - 1));
    const y = (v) => top + (1 - v / high) * (height - top - bottom);
    const ns = "http://www.w3.org/2000/svg";
    const make = (tag, attributes, text) => {
      const node = document.createElementNS(ns, tag);
      for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
      if (text !== undefined) node.textContent = text;
      return node;
    };
    svg.replaceChildren();
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", title);
    for (let k = 0; k <= 4; k++) {
      const v = (high * k) / 4;
      svg.append(make("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), stroke: "#ddd" }));
      const label = percent ? `${Math.round(100 * v)}%` : v.toFixed(high < 10 ? 1 : 0);
      svg.append(make("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 12 }, label));
    }
    const ticks = labels.length ? [0, Math.floor((labels.length - 1) / 2), labels.length - 1] : [];
    for (const i of new Set(ticks)) {
      const anchor = i === 0 ? "start" : i === labels.length - 1 ? "end" : "middle";
      svg.append(make("text", { x: x(i), y: height - 8, "text-anchor": anchor, "font-size": 12 }, labels[i]));
    }
    names.forEach((name, index) => {
      const points = series[name]
        .slice(0, count)
        .map((v, i) => (v === null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`))
        .filter((p) => p !== null);
      if (!points.length) return;
      const line = make("polyline", {
        points: points.join(" "),
        fill: "none",
        stroke: Class.colour(index),
        "stroke-width": name === bold ? 4 : 2,
      });
      line.append(make("title", {}, name));
      svg.append(line);
      const [lastX, lastY] = points[points.length - 1].split(","); // a dot on the latest quarter (one quarter: no line yet)
      svg.append(make("circle", { cx: lastX, cy: lastY, r: name === bold ? 5 : 3.5, fill: Class.colour(index) }));
    });
  },

  /** A legend for `lineChart`: one coloured swatch per series. */
  legend(container, names, bold = null) {
    container.replaceChildren(
      ...names.map((name, index) =>
        Class.el(
          "span",
          { class: name === bold ? "legend own" : "legend" },
          Class.el("span", { class: "swatch", style: `background:${Class.colour(index)}` }),
          name,
        ),
      ),
    );
  },
};
