// Copy the browser builds of Flowbite and the Socket.IO client into daydream/static/vendor.
import { copyFileSync, mkdirSync } from "node:fs";

const target = "daydream/static/vendor";
mkdirSync(target, { recursive: true });
for (const [source, name] of [
  ["node_modules/flowbite/dist/flowbite.min.js", "flowbite.min.js"],
  ["node_modules/socket.io-client/dist/socket.io.min.js", "socket.io.min.js"],
]) {
  copyFileSync(source, `${target}/${name}`);
  console.log(`vendored ${name}`);
}
