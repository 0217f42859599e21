// /var/runtime/index.cjs: the Node.js runtime's entry point, started by
// /var/runtime/bootstrap. As in Lambda's Node.js images it runs the handler
// named by $_HANDLER ("file.export", file relative to $LAMBDA_TASK_ROOT: .js,
// .mjs or .cjs, ES module or CommonJS) with AWS's Runtime Interface Client,
// which serves invocations from $AWS_LAMBDA_RUNTIME_API until the process is
// stopped, and reports a handler that cannot be loaded to /runtime/init/error
// (Runtime.ImportModuleError, Runtime.HandlerNotFound,
// Runtime.UserCodeSyntaxError, Runtime.MalformedHandlerName) before exiting.
//
// Why the V8 flags are set back for a moment (README.md, "Start"): node ships
// a code cache for its own modules (net, http, the ES module loader…) that V8
// takes only while every V8 flag has its default value. The bootstrap's
// --expose-gc and heap sizes would have each of those modules compiled from
// source, about 10 ms of CPU per start. The heap is sized and `gc` installed
// when node starts, before this file runs; so the flags get their defaults
// while the client and what it loads before the handler (http) are loaded,
// and the bootstrap's values again before any of the handler's code runs.
// This entry is CommonJS, not an ES module, so that the ES module loader
// itself loads in that window too (process.argv[1] is this file's path).
//
// Started ahead by a warm pool's agent ($KAPPA_PRESTART_FD set: a socket), it
// loads the same, says {"event":"ready"} on that socket and waits to be handed
// its Function: one JSON object {"env": {...}, "cwd": "..."} then end of file.
// It takes env as its whole environment (node applies a TZ assignment at once;
// NODE_PATH and PWD, set by the bootstrap from variables the agent made sure are
// the pool's, are kept), changes to cwd and runs the handler as a fresh start does.
// End of file alone (the pool pod stopped) ends it. Node's own start, its
// options and V8 flags are the pool's: the agent hands over only a Function that
// sets none of what they are made of (kappa.agent.start_env).
"use strict";

const { setFlagsFromString } = require("node:v8");

// The V8 flags the bootstrap may pass, and its one other option (with its value).
const V8_FLAG = /^--(?:expose-gc|max-semi-space-size=\d+|max-old-space-size=\d+)$/;
const NODE_OPTION = "--max-http-header-size";

/** The bootstrap's V8 flags, or none when node was started with any other option. */
function bootstrapV8Flags(execArgv, nodeOptions) {
  if (nodeOptions) return []; // its V8 flags, if any, are not ours to set back
  const flags = [];
  for (let i = 0; i < execArgv.length; i++) {
    if (V8_FLAG.test(execArgv[i])) flags.push(execArgv[i]);
    else if (execArgv[i] === NODE_OPTION && /^\d+$/.test(execArgv[i + 1] ?? "")) i++;
    else return []; // an exec wrapper's or a user's: leave every flag as it is
  }
  return flags;
}

function defaultOf(flag) {
  return flag === "--expose-gc" ? "--no-expose-gc" : flag.replace(/=\d+$/, "=0");
}

// What the bootstrap (a shell) sets from variables the agent keeps as the pool's:
// a fresh start would have them the same.
const BOOTSTRAP_SETS = ["NODE_PATH", "PWD"];

/** Wait on the agent's socket for the Function's environment and directory; apply them. */
function handedOver(fd) {
  return new Promise((resolve, reject) => {
    const channel = new (require("node:net").Socket)({ fd, readable: true, writable: true });
    const chunks = [];
    channel.on("data", (chunk) => chunks.push(chunk));
    channel.on("error", reject);
    channel.on("end", () => {
      channel.destroy();
      if (chunks.length === 0) process.exit(0); // stopped in the pool: no Function came
      const { env, cwd } = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      const kept = BOOTSTRAP_SETS.filter((name) => env[name] === undefined);
      const values = kept.map((name) => process.env[name]);
      for (const name of Object.keys(process.env)) delete process.env[name];
      Object.assign(process.env, env);
      kept.forEach((name, i) => values[i] !== undefined && (process.env[name] = values[i]));
      process.chdir(cwd);
      resolve();
    });
    channel.write(`${JSON.stringify({ event: "ready", pid: process.pid })}\n`);
  });
}

// An ES module entry leaves require.main undefined for the handler's modules
// (libraries look there for the application's root): so does this one.
delete process.mainModule;
const flags = bootstrapV8Flags(process.execArgv, process.env.NODE_OPTIONS);
const prestartFd = process.env.KAPPA_PRESTART_FD;
delete process.env.KAPPA_PRESTART_FD;
for (const flag of flags) setFlagsFromString(defaultOf(flag));
import("./ric/dist/index.mjs")
  .then((ric) => {
    require("node:http"); // the client loads it before the handler: load it in the window
    return ric;
  })
  .finally(() => {
    for (const flag of flags) setFlagsFromString(flag);
  })
  .then((ric) => (prestartFd === undefined ? ric : handedOver(Number(prestartFd)).then(() => ric)))
  .then(({ run }) => run(process.env.LAMBDA_TASK_ROOT || process.cwd(), process.env._HANDLER || ""))
  .catch((error) => {
    // As a rejected top-level await of an ES module entry: an uncaught exception.
    process.nextTick(() => {
      throw error;
    });
  });
