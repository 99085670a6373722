// Summarises V8 heap snapshots (.heapsnapshot): count and shallow size of
// objects by constructor (as the Summary view of Chrome's devtools does),
// and, given two snapshots, what grew between them, per object added.
//
//   node bench/lib/heap-summary.mjs after.heapsnapshot [before.heapsnapshot] [per=N] [top=40]

import { readFileSync } from "node:fs";

function summarise(file) {
  const snap = JSON.parse(readFileSync(file, "utf8"));
  const meta = snap.snapshot.meta;
  const fields = meta.node_fields;
  const types = meta.node_types[0];
  const nType = fields.indexOf("type");
  const nName = fields.indexOf("name");
  const nSize = fields.indexOf("self_size");
  const width = fields.length;
  const nodes = snap.nodes;
  const strings = snap.strings;
  const by = new Map();
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + nType]];
    let name = strings[nodes[i + nName]];
    if (type === "string" || type === "concatenated string" || type === "sliced string") name = "(string)";
    else if (type === "code") name = "(code)";
    else if (type === "hidden" || type === "array") name = `(${type}) ${name}`;
    else if (type === "closure") name = `(closure) ${name}`;
    else if (type === "native") name = `(native) ${name}`;
    else if (type === "number") name = "(heap number)";
    const e = by.get(name) ?? { count: 0, size: 0 };
    e.count++;
    e.size += nodes[i + nSize];
    by.set(name, e);
  }
  return by;
}

const [afterFile, beforeFile, perArg, topArg] = process.argv.slice(2);
const per = Number((perArg ?? "").replace(/^per=/, "")) || 0;
const top = Number((topArg ?? "").replace(/^top=/, "")) || 40;
const after = summarise(afterFile);
const before = beforeFile ? summarise(beforeFile) : new Map();
const rows = [];
for (const [name, a] of after) {
  const b = before.get(name) ?? { count: 0, size: 0 };
  rows.push({ name, count: a.count - b.count, size: a.size - b.size });
}
rows.sort((x, y) => y.size - x.size);
const total = rows.reduce((n, r) => n + r.size, 0);
console.log(`${beforeFile ? "growth" : "total"}: ${(total / 2 ** 20).toFixed(1)} MiB${per ? `, ${(total / per).toFixed(0)} B per unit (${per})` : ""}`);
for (const r of rows.slice(0, top)) {
  const unit = per ? `  ${(r.size / per).toFixed(0).padStart(6)} B/unit ${(r.count / per).toFixed(2).padStart(6)} obj/unit` : "";
  console.log(`${(r.size / 1024).toFixed(0).padStart(9)} KiB ${String(r.count).padStart(8)}  ${r.name.slice(0, 70)}${unit}`);
}
