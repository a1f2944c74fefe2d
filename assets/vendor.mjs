// Copy the browser builds of Flowbite, the Socket.IO client and Chart.js into daydream/static/vendor.
import { copyFileSync, mkdirSync } from "node:fs";

const target = "daydream/static/vendor";
mkdirSync(target, { recursive: true });
for (const [source, folder, name] of [
  ["node_modules/flowbite/dist/flowbite.min.js", target, "flowbite.min.js"],
  ["node_modules/socket.io-client/dist/socket.io.min.js", target, "socket.io.min.js"],
  // Chart.js (MIT) draws the admin dashboard's charts.
  ["node_modules/chart.js/dist/chart.umd.min.js", target, "chart.umd.min.js"],
  // axe-core runs only in the browser tests (accessibility checks), never on the site.
  ["node_modules/axe-core/axe.min.js", "tests/browser/vendor", "axe.min.js"],
]) {
  mkdirSync(folder, { recursive: true });
  copyFileSync(source, `${folder}/${name}`);
  console.log(`vendored ${name}`);
}
