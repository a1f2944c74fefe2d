// Times are sent in UTC; show them in the viewer's own time zone (title keeps the UTC text).
(() => {
  "use strict";
  const options = { dateStyle: "medium", timeStyle: "short" };
  for (const element of document.querySelectorAll("time[data-local]")) {
    const moment = new Date(element.getAttribute("datetime"));
    if (Number.isNaN(moment.getTime())) continue;
    element.title = element.textContent.trim();
    element.textContent = moment.toLocaleString(undefined, options);
  }
})();
