// What a runtime's process is, seen from its handler: its environment, how node was
// started, the time zone, Lambda's context. A runtime a warm pool started ahead must
// give the same answers as one started afresh (tests/integration/nodejs/test_nodejs_pool.py).
const { getHeapStatistics } = require("node:v8");

exports.handler = async (event, context) => {
  console.log("envprobe says hello");
  return {
    env: { ...process.env },
    argv: process.argv,
    execArgv: process.execArgv,
    title: process.title,
    cwd: process.cwd(),
    date: new Date(0).toString(),
    offset: new Date(0).getTimezoneOffset(),
    gc: typeof globalThis.gc,
    awslambda: typeof globalThis.awslambda,
    requireMain: typeof require.main,
    mainModule: typeof process.mainModule,
    heapLimit: getHeapStatistics().heap_size_limit,
    stdin: typeof process.stdin.fd,
    pid: process.pid,
    context: {
      functionName: context.functionName,
      functionVersion: context.functionVersion,
      invokedFunctionArn: context.invokedFunctionArn,
      memoryLimitInMB: context.memoryLimitInMB,
      awsRequestId: context.awsRequestId,
      logGroupName: context.logGroupName,
      logStreamName: context.logStreamName,
      callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
      remaining: typeof context.getRemainingTimeInMillis(),
    },
  };
};
