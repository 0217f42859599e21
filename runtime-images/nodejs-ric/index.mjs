// /var/runtime/index.mjs: the Node.js runtime's entry point, started by
// /var/runtime/bootstrap. As in Lambda's Node.js images it runs the handler
// named by $_HANDLER ("file.export", file relative to $LAMBDA_TASK_ROOT: .js,
// .mjs or .cjs, ES module or CommonJS) with AWS's Runtime Interface Client,
// which serves invocations from $AWS_LAMBDA_RUNTIME_API until the process is
// stopped, and reports a handler that cannot be loaded to /runtime/init/error
// (Runtime.ImportModuleError, Runtime.HandlerNotFound,
// Runtime.UserCodeSyntaxError, Runtime.MalformedHandlerName) before exiting.
import { run } from "./ric/dist/index.mjs";

await run(process.env.LAMBDA_TASK_ROOT || process.cwd(), process.env._HANDLER || "");
