// Every plain Markdown table can be sorted by clicking a column heading, also on
// pages reached by instant navigation (Material emits each new page on document$).
document$.subscribe(() => {
  document.querySelectorAll("article table:not([class])").forEach((table) => new Tablesort(table));
});
