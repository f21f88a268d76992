// Places the signature stamp where the citizen clicks on a page picture, and fills the form's
// page and rect fields (PDF points: origin at the page's bottom left). Without this script the
// "bottom right of the last page" and "invisible" choices still work.
(function () {
  "use strict";
  var STAMP_W = 220, STAMP_H = 70, MARGIN = 2;
  var form = document.getElementById("sign-form");
  if (!form) { return; }
  var pageField = document.getElementById("page");
  var rectField = document.getElementById("rect");
  var status = document.getElementById("placement-status");

  function chooseMode(value) {
    var radios = form.querySelectorAll("input[name=mode]");
    for (var i = 0; i < radios.length; i++) { radios[i].checked = radios[i].value === value; }
  }

  function hideStamps() {
    var stamps = form.querySelectorAll(".stamp");
    for (var i = 0; i < stamps.length; i++) { stamps[i].classList.remove("shown"); }
  }

  function show(box, pageNumber, rect) {
    var media = box.getAttribute("data-box").split(",").map(Number);
    var img = box.querySelector("img");
    var scale = img.clientWidth / (media[2] - media[0]);
    var stamp = box.querySelector(".stamp");
    hideStamps();
    stamp.style.left = ((rect[0] - media[0]) * scale) + "px";
    stamp.style.top = ((media[3] - rect[3]) * scale) + "px";
    stamp.style.width = ((rect[2] - rect[0]) * scale) + "px";
    stamp.style.height = ((rect[3] - rect[1]) * scale) + "px";
    stamp.classList.add("shown");
    status.textContent = status.getAttribute("data-placed").replace("{page}", pageNumber);
  }

  function place(event) {
    var box = event.currentTarget;
    var img = box.querySelector("img");
    var media = box.getAttribute("data-box").split(",").map(Number);
    var bounds = img.getBoundingClientRect();
    var scale = (media[2] - media[0]) / bounds.width;
    var x = media[0] + (event.clientX - bounds.left) * scale;
    var y = media[3] - (event.clientY - bounds.top) * scale;
    var width = Math.min(STAMP_W, media[2] - media[0] - 2 * MARGIN);
    var height = Math.min(STAMP_H, media[3] - media[1] - 2 * MARGIN);
    var x1 = Math.min(Math.max(x - width / 2, media[0] + MARGIN), media[2] - MARGIN - width);
    var y1 = Math.min(Math.max(y - height / 2, media[1] + MARGIN), media[3] - MARGIN - height);
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
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "mode" && event.target.value !== "click") { hideStamps(); }
  });
  // A form shown again after an error keeps the stamp where it was.
  if (rectField.value && pageField.value) {
    var again = form.querySelector('.page-box[data-page="' + pageField.value + '"]');
    var img = again && again.querySelector("img");
    var redraw = function () { show(again, pageField.value, rectField.value.split(",").map(Number)); };
    if (img && img.complete) { redraw(); } else if (img) { img.addEventListener("load", redraw); }
  }
  form.addEventListener("submit", function () {
    document.getElementById("sign-button").disabled = true;
  });
})();
