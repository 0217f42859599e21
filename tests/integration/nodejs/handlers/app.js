// CommonJS handlers: the task root has no package.json, so .js is CommonJS.
const { setTimeout: sleep } = require("node:timers/promises");

exports.echo = async (event, context) => ({
  event,
  node: process.version,
  cwd: process.cwd(),
  awsRequestId: context.awsRequestId,
  functionName: context.functionName,
  functionVersion: context.functionVersion,
  invokedFunctionArn: context.invokedFunctionArn,
  memoryLimitInMB: context.memoryLimitInMB,
  logGroupName: context.logGroupName,
  logStreamName: context.logStreamName,
  callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
  clientContext: context.clientContext ?? null,
  identity: context.identity ?? null,
  remainingMs: context.getRemainingTimeInMillis(),
  env: {
    runtimeApi: process.env.AWS_LAMBDA_RUNTIME_API,
    handler: process.env._HANDLER,
    taskRoot: process.env.LAMBDA_TASK_ROOT,
    nodePath: process.env.NODE_PATH,
    traceId: process.env._X_AMZN_TRACE_ID ?? null,
    wrappedBy: process.env.WRAPPED_BY ?? null,
    kappa: Object.keys(process.env).filter((name) => name.startsWith("KAPPA_")),
  },
  execArgv: process.execArgv,
});

exports.callback = (event, context, callback) => {
  callback(null, { via: "callback", event });
};

exports.callbackError = (event, context, callback) => {
  callback(new RangeError("out of range"));
};

// With callbackWaitsForEmptyEventLoop (the default) the response waits for the timer.
exports.waitsForEventLoop = (event, context, callback) => {
  setTimeout(() => console.log("timer fired"), 200);
  callback(null, "done");
};

exports.doesNotWait = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = false;
  setTimeout(() => console.log("timer fired"), 1500);
  callback(null, "done");
};

exports.nothing = async () => undefined;

exports.throws = async () => {
  throw new TypeError("bad input");
};

class ValidationError extends Error {
  constructor(message) {
    super(message);
    this.name = "ValidationError";
  }
}

exports.throwsCustom = async () => {
  throw new ValidationError("field x is required");
};

exports.rejectsWithString = async () => Promise.reject("plain string");

exports.logs = async (event) => {
  console.log("hello from node", event.n);
  console.info("info line");
  console.warn("warn line");
  console.error("error line");
  return "logged";
};

// Each reading with the wall clock it was taken at: their sum is the deadline it was given.
exports.remaining = async (event, context) => {
  const firstAt = Date.now();
  const first = context.getRemainingTimeInMillis();
  await sleep(300);
  const secondAt = Date.now();
  return { first, firstAt, second: context.getRemainingTimeInMillis(), secondAt };
};

// Arrive in the directory `dir` and wait until `count` calls have (30 s at most).
exports.rendezvous = async (event) => {
  const fs = require("node:fs");
  fs.writeFileSync(`${event.dir}/${process.pid}`, "");
  const guard = Date.now() + 30000; // a hang guard: the other calls arrive at once
  while (fs.readdirSync(event.dir).length < event.count && Date.now() < guard) {
    await sleep(10);
  }
  return { pid: process.pid, met: fs.readdirSync(event.dir).length };
};

exports.sleeps = async (event) => {
  await sleep(event.ms);
  return { slept: event.ms, pid: process.pid };
};

exports.big = async (event) => "x".repeat(event.bytes);

exports.notAFunction = 42;

exports.nested = { deeper: { handler: async () => "nested" } };
