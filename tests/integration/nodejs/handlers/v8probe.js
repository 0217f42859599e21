// What the bootstrap's V8 flags give a handler, read the same way in a plain
// `node <flags> -e` (probe) and under the runtime (handler): `gc`, the heap's
// limit, and what new contexts and worker threads get.
const { getHeapStatistics } = require("node:v8");
const { runInNewContext } = require("node:vm");
const { Worker } = require("node:worker_threads");

function workerHeapLimit() {
  const source = `require("node:worker_threads").parentPort.postMessage(
    require("node:v8").getHeapStatistics().heap_size_limit)`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true });
    worker.once("message", (limit) => worker.terminate().then(() => resolve(limit)));
    worker.once("error", reject);
  });
}

async function probe() {
  return {
    gc: typeof globalThis.gc,
    contextGc: runInNewContext("typeof gc"),
    heapLimit: getHeapStatistics().heap_size_limit,
    workerHeapLimit: await workerHeapLimit(),
    requireMain: typeof require.main,
  };
}

exports.probe = probe;
exports.handler = async () => ({ ...(await probe()), execArgv: process.execArgv });
