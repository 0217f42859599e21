// Streaming handlers (awslambda.streamifyResponse), as Lambda's Node runtimes run them.
const fs = require("node:fs");
const { once } = require("node:events");
const { setTimeout: sleep } = require("node:timers/promises");

// Until the file `path` exists: the test says when the handler may go on.
async function released(path) {
  while (!fs.existsSync(path)) {
    await sleep(10);
  }
}

// The test's arguments: the event itself, or the JSON body of an HTTP trigger's event.
function args(event) {
  return typeof event.body === "string" ? JSON.parse(event.body) : event;
}

exports.twoParts = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.setContentType("text/plain");
  responseStream.write("first;");
  await released(args(event).release);
  responseStream.write("second;");
  responseStream.end();
});

exports.failsMidStream = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.write("partial;");
  await released(args(event).release);
  throw new TypeError("broke mid-stream");
});

exports.tooMuch = awslambda.streamifyResponse(async (event, responseStream) => {
  const block = Buffer.alloc(1024 * 1024, 120);
  for (let i = 0; i < event.megabytes; i++) {
    if (!responseStream.write(block)) {
      await once(responseStream, "drain");
    }
  }
  responseStream.end();
});

exports.whole = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.setContentType("application/json");
  responseStream.write('{"streamed":');
  responseStream.end(JSON.stringify(event) + "}");
});

exports.http = awslambda.streamifyResponse(async (event, responseStream) => {
  const stream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 201,
    headers: { "x-custom": "yes", "content-type": "text/plain" },
  });
  stream.write("hello ");
  stream.end("world");
});
