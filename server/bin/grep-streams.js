#!/usr/bin/env node
// The grep-streams CLI (compiled TypeScript in ../dist; `npm run build` makes it).
import { main } from "../dist/src/cli/main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
