// Baseline: the fastest plain Node line reader over the same record file
// (what any Node consumer pays just to see the lines).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

const rl = createInterface({
  input: createReadStream(process.argv[2]!, { encoding: 'latin1', highWaterMark: 1 << 20 }),
  crlfDelay: Infinity,
});
let n = 0;
for await (const line of rl) if (line.length) n++;
process.stdout.write(`${n}\n`);
