/**
 * The audit log's writer thread, as source for `new Worker(…, { eval: true })`
 * (plain JavaScript, so it runs the same from the TypeScript sources and from
 * dist/). It receives batches of records serialised by the hub's thread, chains
 * them (`hash = sha256(prev ‖ canonical record)`), appends the lines and keeps
 * the head file; hashing and writing stay off the event loop that serves calls.
 *
 * Shared state (Int32Array): [0] last seq written, [1] 1 once closed.
 */
export const AUDIT_WRITER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const { file, headFile, state } = workerData;
let prev = workerData.prev;
let seq = workerData.seq;
const sha256 = typeof crypto.hash === 'function'
  ? (text) => crypto.hash('sha256', text)
  : (text) => crypto.createHash('sha256').update(text).digest('hex');
const fd = fs.openSync(file, 'a', 0o600);
let headAt = 0;
function writeHead() {
  headAt = Date.now();
  const tmp = headFile + '.' + process.pid + '.tmp';
  const hfd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(hfd, JSON.stringify({ seq, hash: prev }) + '\\n');
    fs.fsyncSync(hfd);
  } finally {
    fs.closeSync(hfd);
  }
  fs.renameSync(tmp, headFile);
}
parentPort.on('message', (msg) => {
  if (msg.batch !== undefined) {
    const records = JSON.parse(msg.batch);
    let out = '';
    for (const record of records) {
      // A string is a body the hub canonicalised itself (keys JSON.stringify would reorder).
      const body = typeof record === 'string' ? record : JSON.stringify(record);
      const hash = sha256(prev + body);
      out += '{"hash":"' + hash + '","prev":"' + prev + '",' + body.slice(1) + '\\n';
      prev = hash;
    }
    fs.writeSync(fd, out);
    seq = msg.seq;
    Atomics.store(state, 0, seq);
    Atomics.notify(state, 0);
    if (Date.now() - headAt >= 1000) writeHead();
  }
  if (msg.close) {
    writeHead();
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    Atomics.store(state, 1, 1);
    Atomics.notify(state, 1);
    parentPort.close();
  }
});
`;
