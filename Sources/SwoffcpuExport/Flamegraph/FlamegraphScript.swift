/// The flame graph's inline script: hover details, click to zoom, search. Plain ES5-level
/// JavaScript, no globals but `window.flamegraph` (for tests and the console).
///
/// URL parameters, when the file is opened with them: `?s=REGEX` searches, `?z=NAME` zooms into
/// the widest frame named NAME (both may be combined).
enum FlamegraphScript {
    static let source = #"""
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var svg = document.documentElement;
  function attr(name) { return Number(svg.getAttribute(name)); }
  var total = attr("data-total"), unitNs = attr("data-unit-ns"), gx = attr("data-gx"), gw = attr("data-gw");
  var fh = attr("data-fh"), baseY = attr("data-base-y"), textDy = attr("data-text-dy");
  var fontSize = attr("data-font-size") || 12, minWidth = attr("data-min-width");
  var countName = svg.getAttribute("data-count-name") || "samples";
  var HIGHLIGHT = "rgb(230,0,230)";
  var framesEl = document.getElementById("frames");
  var details = document.getElementById("details");
  var matchedEl = document.getElementById("matched");
  var resetEl = document.getElementById("reset");
  var searchEl = document.getElementById("search");
  var hint = details.textContent;
  var nodes = [], byElement = new Map(), zoomed = null, searchRe = null;

  // Frames are in depth-first order: a frame's parent is the last frame seen one row below.
  var stack = [];
  var groups = framesEl.children;
  for (var i = 0; i < groups.length; i++) {
    var g = groups[i];
    if (!g.hasAttribute("data-v")) continue;
    var rect = g.querySelector("rect"), title = g.querySelector("title");
    var t = title ? title.textContent : "", nl = t.indexOf("\n");
    var d = Math.round((baseY - Number(rect.getAttribute("y"))) / fh);
    var n = {
      g: g, rect: rect, text: g.querySelector("text"), name: nl >= 0 ? t.slice(0, nl) : t,
      x: Number(g.getAttribute("data-x")), v: Number(g.getAttribute("data-v")), d: d,
      merged: g.hasAttribute("data-m"), fill: rect.getAttribute("fill"), parent: d > 0 ? stack[d - 1] : null,
      chars: null, y: Number(rect.getAttribute("y"))
    };
    stack[d] = n;
    stack.length = d + 1;
    nodes.push(n);
    byElement.set(g, n);
  }

  // Average glyph width of the label font as it renders here.
  var charWidth = fontSize * 0.59;
  try {
    var probe = document.createElementNS(NS, "text");
    probe.textContent = "abcdefghijklmnopqrstuvwxyz_ABCDEFGHIJKLM0123456789:.()";
    probe.setAttribute("y", "-100");
    framesEl.appendChild(probe);
    var measured = probe.getComputedTextLength() / probe.textContent.length;
    framesEl.removeChild(probe);
    if (measured > 1) charWidth = measured;
  } catch (e) { /* keep the estimate */ }

  function formatNs(ns) {
    if (ns === 0) return "0";
    if (ns < 999.5) return Math.round(ns) + "ns";
    var scale = 1e9, unit = "s";
    if (ns < 999.5e3) { scale = 1e3; unit = "\u00b5s"; } else if (ns < 999.5e6) { scale = 1e6; unit = "ms"; }
    var v = ns / scale;
    return (v >= 99.95 ? v.toFixed(0) : v >= 9.995 ? v.toFixed(1) : v.toFixed(2)) + unit;
  }
  function formatValue(v) { return unitNs > 0 ? formatNs(v * unitNs) : v + " " + countName; }
  function percent(part, whole) {
    if (!(whole > 0)) return "-";
    var p = 100 * part / whole;
    if (part > 0 && p < 0.05) return "<0.1%";
    if (part < whole && p >= 99.95) return ">99.9%";
    return p.toFixed(1) + "%";
  }

  function label(n, w) {
    var fit = Math.floor((w - 6) / charWidth);
    if (fit < 3) return "";
    if (n.name.length <= fit) return n.name;
    if (!n.chars) n.chars = Array.from(n.name);
    if (n.chars.length <= fit) return n.name;
    return n.chars.slice(0, fit - 2).join("") + "..";
  }
  function place(n, x, w) {
    n.rect.setAttribute("x", x.toFixed(2));
    n.rect.setAttribute("width", (w > 2 ? w - 0.5 : w).toFixed(2));
    var s = label(n, w);
    if (s && !n.text) {
      n.text = document.createElementNS(NS, "text");
      n.text.setAttribute("y", (n.y + textDy).toFixed(2));
      n.g.appendChild(n.text);
    }
    if (n.text) {
      n.text.setAttribute("x", (x + 3).toFixed(2));
      if (n.text.textContent !== s) n.text.textContent = s;
    }
  }
  function show(n, isAncestor) {
    n.g.style.display = "";
    n.g.classList.toggle("parent", isAncestor);
  }
  function hide(n) { n.g.style.display = "none"; }

  // Zoom into t: its ancestors span the width (faded), its subtree is rescaled, the rest hidden.
  // Frames of one row never overlap, so "inside t's span and not above it" means "in t's subtree".
  function layout(t) {
    var lo = t.x, hi = t.x + t.v, k = gw / t.v;
    for (var i = 0; i < nodes.length; i++) {
      var n = nodes[i];
      if (n.d < t.d) {
        if (n.x <= lo && n.x + n.v >= hi) { show(n, true); place(n, gx, gw); } else hide(n);
      } else if (n.x >= lo && n.x + n.v <= hi) {
        show(n, false);
        place(n, gx + (n.x - lo) * k, n.v * k);
      } else {
        hide(n);
      }
    }
  }
  function zoom(t) {
    zoomed = t && t.d > 0 ? t : null;
    if (nodes.length) layout(zoomed || nodes[0]);
    resetEl.classList.toggle("hidden", !zoomed);
  }

  function applySearch() {
    var hits = [];
    for (var i = 0; i < nodes.length; i++) {
      var n = nodes[i];
      var hit = searchRe !== null && !n.merged && searchRe.test(n.name);
      n.rect.setAttribute("fill", hit ? HIGHLIGHT : n.fill);
      n.g.classList.toggle("dim", searchRe !== null && !hit);
      if (hit) hits.push(n);
    }
    // Matched time without counting a frame inside a matched ancestor twice: the union of the
    // matched spans (spans of different rows overlap only between a frame and its ancestor).
    hits.sort(function (a, b) { return a.x - b.x || b.v - a.v; });
    var sum = 0, end = -1;
    for (var j = 0; j < hits.length; j++) {
      var h = hits[j], e = h.x + h.v;
      if (h.x >= end) { sum += h.v; end = e; } else if (e > end) { sum += e - end; end = e; }
    }
    matchedEl.textContent = searchRe === null ? "" :
      "Matched: " + percent(sum, total) + " (" + formatValue(sum) + ", " + hits.length + " frames)";
    searchEl.textContent = searchRe === null ? "Search" : "Reset Search";
  }
  function search(term) {
    if (term === null || term === undefined) return;
    term = String(term);
    var flags = "";
    if (term.slice(0, 4) === "(?i)") { term = term.slice(4); flags = "i"; }
    if (term === "") {
      searchRe = null;
    } else {
      try { searchRe = new RegExp(term, flags); } catch (e) {
        searchRe = new RegExp(term.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), flags);
      }
    }
    applySearch();
  }
  function askSearch() {
    search(window.prompt("Search frames: a regular expression (case-sensitive; start with (?i) to ignore case); an invalid one matches as plain text", ""));
  }

  function describe(n) {
    var s = n.name + " \u2014 " + formatValue(n.v) + ", " + percent(n.v, total) + " of total";
    if (n.parent) s += ", " + percent(n.v, n.parent.v) + " of parent";
    if (zoomed && zoomed !== n && n.d > zoomed.d) s += ", " + percent(n.v, zoomed.v) + " of zoomed frame";
    if (n.merged) s += " (" + n.g.getAttribute("data-m") + " frames narrower than " + minWidth + " px)";
    var limit = Math.floor(gw * 0.72 / charWidth);
    return s.length > limit ? s.slice(0, limit - 3) + "..." : s;
  }
  function nodeOf(element) {
    var g = element && element.closest ? element.closest("#frames > g") : null;
    return g ? byElement.get(g) || null : null;
  }

  framesEl.addEventListener("mouseover", function (e) {
    var n = nodeOf(e.target);
    if (n) details.textContent = describe(n);
  });
  framesEl.addEventListener("mouseout", function (e) {
    if (nodeOf(e.target)) details.textContent = hint;
  });
  framesEl.addEventListener("click", function (e) {
    var n = nodeOf(e.target);
    if (n) zoom(n);
  });
  resetEl.addEventListener("click", function () { zoom(null); });
  searchEl.addEventListener("click", function () { if (searchRe) search(""); else askSearch(); });
  var legendItems = document.querySelectorAll("#legend .li");
  for (var li = 0; li < legendItems.length; li++) {
    legendItems[li].addEventListener("click", function () {
      var state = this.getAttribute("data-state");
      if (!state) return;
      for (var i = 0; i < nodes.length; i++) {
        if (nodes[i].d === 1 && nodes[i].name === state) { zoom(nodes[i]); return; }
      }
    });
  }
  document.addEventListener("keydown", function (e) {
    if (e.key === "/" || ((e.ctrlKey || e.metaKey) && (e.key === "f" || e.key === "F"))) {
      e.preventDefault();
      askSearch();
    } else if (e.key === "Escape") {
      zoom(null);
      search("");
    }
  });

  // Legend items side by side, as wide as their text really is.
  var lx = gx;
  for (var k = 0; k < legendItems.length; k++) {
    legendItems[k].setAttribute("transform", "translate(" + lx.toFixed(1) + ",0)");
    lx += legendItems[k].getBBox().width + 18;
  }

  zoom(null); // re-labels every frame with the measured glyph width
  var params = new URLSearchParams(window.location.search);
  var zoomName = params.get("z");
  if (zoomName) {
    var best = null;
    for (var z = 0; z < nodes.length; z++) {
      if (nodes[z].name === zoomName && (!best || nodes[z].v > best.v)) best = nodes[z];
    }
    if (best) zoom(best);
  }
  if (params.get("s")) search(params.get("s"));

  window.flamegraph = { zoom: zoom, search: search, nodes: nodes };
  svg.setAttribute("data-ready", String(nodes.length));
})();

"""#
}
