package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import greeting.Greeter;
import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.Map;

/** A RequestHandler: the event as a Map in, a Map out (JSON both ways), and the Context. */
public class Hello implements RequestHandler<Map<String, Object>, Map<String, Object>> {
    private static final long STARTED = System.nanoTime();

    @Override
    public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
        Object name = event == null ? null : event.get("name");
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("message", Greeter.greet(name == null ? "world" : name.toString()));
        out.put("event", event);
        out.put("java", System.getProperty("java.specification.version"));
        out.put("requestId", context.getAwsRequestId());
        out.put("functionName", context.getFunctionName());
        out.put("functionVersion", context.getFunctionVersion());
        out.put("invokedFunctionArn", context.getInvokedFunctionArn());
        out.put("memoryLimitInMB", context.getMemoryLimitInMB());
        out.put("remainingTimeInMillis", context.getRemainingTimeInMillis());
        out.put("logGroupName", context.getLogGroupName());
        out.put("logStreamName", context.getLogStreamName());
        out.put("cwd", System.getProperty("user.dir"));
        out.put("maxHeapBytes", Runtime.getRuntime().maxMemory());
        out.put("jvmArguments", ManagementFactory.getRuntimeMXBean().getInputArguments());
        out.put("handlerEnv", System.getenv("_HANDLER"));
        out.put("kappaEnv", System.getenv().keySet().stream().filter(k -> k.startsWith("KAPPA_")).toList());
        context.getLogger().log("hello from " + context.getFunctionName());
        return out;
    }
}
