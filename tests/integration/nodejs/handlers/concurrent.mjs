// Handlers of the perRuntime tests (AWS_LAMBDA_MAX_CONCURRENCY: aws-lambda-ric 4's mode).
import { threadId } from "node:worker_threads";

export const nap = async (event, context) => {
  const start = Date.now();
  console.log("nap starts");
  await new Promise((resolve) => setTimeout(resolve, event.ms ?? 100));
  return { start, end: Date.now(), requestId: context.awsRequestId, pid: process.pid, threadId };
};

export const callback = (event, context, done) => done(null, "never run: callbacks are refused");
