// The pages' small behaviours, kept out of the HTML: the Content-Security-Policy allows no inline script
// (flask_app/headers.py).  A checkbox with data-select-all="<selector>" checks or clears every box the
// selector names; an element with data-print prints the page.
document.addEventListener("DOMContentLoaded", () => {
  for (const all of document.querySelectorAll("input[data-select-all]")) {
    all.addEventListener("click", () => {
      for (const box of document.querySelectorAll(all.dataset.selectAll)) box.checked = all.checked;
    });
  }
  for (const el of document.querySelectorAll("[data-print]")) {
    el.addEventListener("click", (event) => {
      event.preventDefault();
      window.print();
    });
  }
});
