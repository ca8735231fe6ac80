// Roadmap checklists (docs/map/roadmap.md): restore the reader's ticks from
// localStorage, save each change, and keep every branch's progress figure current.
// Material swaps the page body on instant navigation and emits on document$ for the
// first page and each one after, so the setup runs on every emission, for the
// checklists of the page just shown.
(function () {
  "use strict";
  var KEY = "mlatlas.roadmap.v1";

  function load() {
    try {
      var state = JSON.parse(window.localStorage.getItem(KEY) || "{}");
      return state && typeof state === "object" ? state : {};
    } catch (err) {
      return {};  // storage disabled or corrupt: start with nothing ticked
    }
  }

  function save(state) {
    try {
      window.localStorage.setItem(KEY, JSON.stringify(state));
    } catch (err) {
      // storage full or disabled: the ticks last until the page is left
    }
  }

  function count(scope) {
    var boxes = scope.querySelectorAll("input[data-item]");
    var done = 0;
    boxes.forEach(function (box) { if (box.checked) done += 1; });
    return [done, boxes.length];
  }

  function refresh(list) {
    list.querySelectorAll("[data-branch]").forEach(function (branch) {
      var figures = count(branch);
      branch.querySelector("[data-progress]").textContent = figures[0] + " / " + figures[1];
      var bar = branch.querySelector("progress");
      if (bar) { bar.max = figures[1]; bar.value = figures[0]; }
    });
    var total = list.querySelector("[data-total]");
    if (total) {
      var all = count(list);
      total.textContent = all[0] + " / " + all[1];
    }
  }

  function setUp(list) {
    if (list.dataset.ready) return;
    list.dataset.ready = "1";
    var state = load();
    list.querySelectorAll("input[data-item]").forEach(function (box) {
      box.checked = state[box.dataset.item] === true;
      box.addEventListener("change", function () {
        var now = load();
        if (box.checked) now[box.dataset.item] = true; else delete now[box.dataset.item];
        save(now);
        refresh(list);
      });
    });
    var reset = list.querySelector("[data-reset]");
    if (reset) {
      reset.addEventListener("click", function () {
        var now = load();
        list.querySelectorAll("input[data-item]").forEach(function (box) {
          box.checked = false;
          delete now[box.dataset.item];
        });
        save(now);
        refresh(list);
      });
    }
    refresh(list);
  }

  function setUpPage() {
    document.querySelectorAll(".mlatlas-checklist").forEach(setUp);
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(setUpPage);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpPage);
  } else {
    setUpPage();
  }
})();
