// Places the signature stamp where the citizen clicks on a page picture, and fills the form's
// page and rect fields: PDF points in the page's own space (origin at its bottom left), through
// the page's effective box and rotation the picture was drawn with (signing/page_box.py does
// the same sums for the signing). The stamp is 220 by 70 points as the page is shown. Without this script the "bottom right
// of the last page" and "invisible" choices still work.
(function () {
  "use strict";
  var STAMP_W = 220, STAMP_H = 70, MARGIN = 2;
  var form = document.getElementById("sign-form");
  if (!form) { return; }
  var pageField = document.getElementById("page");
  var rectField = document.getElementById("rect");
  var status = document.getElementById("placement-status");

  function geometry(box) {
    var b = box.getAttribute("data-box").split(",").map(Number);
    return { x1: b[0], y1: b[1], x2: b[2], y2: b[3], w: b[2] - b[0], h: b[3] - b[1],
             rotation: Number(box.getAttribute("data-rotation") || 0),
             unit: Number(box.getAttribute("data-unit") || 1) };
  }

  // u, v: 0..1 across and down the picture -> PDF point
  function toPdf(g, u, v) {
    switch (g.rotation) {
      case 90: return [g.x1 + v * g.w, g.y1 + u * g.h];
      case 180: return [g.x2 - u * g.w, g.y1 + v * g.h];
      case 270: return [g.x2 - v * g.w, g.y2 - u * g.h];
      default: return [g.x1 + u * g.w, g.y2 - v * g.h];
    }
  }

  // PDF point -> u, v
  function toPicture(g, x, y) {
    switch (g.rotation) {
      case 90: return [(y - g.y1) / g.h, (x - g.x1) / g.w];
      case 180: return [(g.x2 - x) / g.w, (y - g.y1) / g.h];
      case 270: return [(g.y2 - y) / g.h, (g.x2 - x) / g.w];
      default: return [(x - g.x1) / g.w, (g.y2 - y) / g.h];
    }
  }

  function chooseMode(value) {
    var radios = form.querySelectorAll("input[name=mode]");
    for (var i = 0; i < radios.length; i++) { radios[i].checked = radios[i].value === value; }
  }

  function hideStamps() {
    var stamps = form.querySelectorAll(".stamp");
    for (var i = 0; i < stamps.length; i++) { stamps[i].classList.remove("shown"); }
  }

  function show(box, pageNumber, rect) {
    var g = geometry(box);
    var img = box.querySelector("img");
    var a = toPicture(g, rect[0], rect[1]), b = toPicture(g, rect[2], rect[3]);
    var left = Math.min(a[0], b[0]), top = Math.min(a[1], b[1]);
    var stamp = box.querySelector(".stamp");
    hideStamps();
    stamp.style.left = (left * img.clientWidth) + "px";
    stamp.style.top = (top * img.clientHeight) + "px";
    stamp.style.width = (Math.abs(a[0] - b[0]) * img.clientWidth) + "px";
    stamp.style.height = (Math.abs(a[1] - b[1]) * img.clientHeight) + "px";
    stamp.classList.add("shown");
    status.textContent = status.getAttribute("data-placed").replace("{page}", pageNumber);
  }

  function place(event) {
    var bounds = event.currentTarget.querySelector("img").getBoundingClientRect();
    placeAt(event.currentTarget, (event.clientX - bounds.left) / bounds.width,
            (event.clientY - bounds.top) / bounds.height);
  }

  // Keyboard: Enter or Space puts the stamp low in the middle of the page; the arrows move it.
  var STEP = 0.03;
  function key(event) {
    var box = event.currentTarget, u = box.u === undefined ? 0.5 : box.u;
    var v = box.v === undefined ? 0.85 : box.v;
    var moves = { ArrowLeft: [-STEP, 0], ArrowRight: [STEP, 0], ArrowUp: [0, -STEP],
                  ArrowDown: [0, STEP], Enter: [0, 0], " ": [0, 0] };
    var move = moves[event.key];
    if (!move) { return; }
    event.preventDefault();
    placeAt(box, Math.min(Math.max(u + move[0], 0), 1), Math.min(Math.max(v + move[1], 0), 1));
  }

  function placeAt(box, u, v) {
    var g = geometry(box);
    box.u = u;
    box.v = v;
    var point = toPdf(g, u, v);
    var turned = g.rotation === 90 || g.rotation === 270, margin = MARGIN / g.unit;
    var width = Math.min((turned ? STAMP_H : STAMP_W) / g.unit, g.w - 2 * margin);
    var height = Math.min((turned ? STAMP_W : STAMP_H) / g.unit, g.h - 2 * margin);
    var x1 = Math.min(Math.max(point[0] - width / 2, g.x1 + margin), g.x2 - margin - width);
    var y1 = Math.min(Math.max(point[1] - height / 2, g.y1 + margin), g.y2 - margin - height);
    var rect = [x1, y1, x1 + width, y1 + height].map(function (v) { return Math.round(v); });
    var pageNumber = box.getAttribute("data-page");
    pageField.value = pageNumber;
    rectField.value = rect.join(",");
    chooseMode("click");
    show(box, pageNumber, rect);
  }

  var boxes = form.querySelectorAll(".page-box");
  for (var i = 0; i < boxes.length; i++) {
    boxes[i].addEventListener("click", place);
    boxes[i].addEventListener("keydown", key);
  }
  // The line under the choices says what the checked one will do.
  form.addEventListener("change", function (event) {
    if (event.target.name !== "mode") { return; }
    if (event.target.value !== "click") {
      hideStamps();
      status.textContent = status.getAttribute("data-" + event.target.value) || "";
    } else if (rectField.value && pageField.value) {  // back to the place clicked before
      var placed = form.querySelector('.page-box[data-page="' + pageField.value + '"]');
      if (placed) { show(placed, pageField.value, rectField.value.split(",").map(Number)); }
    } else {
      status.textContent = status.getAttribute("data-click");
    }
  });
  // A form shown again after an error keeps the stamp where it was.
  if (rectField.value && pageField.value) {
    var again = form.querySelector('.page-box[data-page="' + pageField.value + '"]');
    var img = again && again.querySelector("img");
    var redraw = function () { show(again, pageField.value, rectField.value.split(",").map(Number)); };
    if (img && img.complete) { redraw(); } else if (img) { img.addEventListener("load", redraw); }
  }
  var sending = false;
  form.addEventListener("submit", function (event) {
    if (sending) { event.preventDefault(); return; }  // one press signs once
    sending = true;
  });
})();
