package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A Lambda Java handler as Lambda takes it: the event as JSON turned into a Map, the
 * result turned back into JSON. An event without a name fails the call with Lambda's
 * error shape (errorType: java.lang.IllegalArgumentException, errorMessage, stackTrace).
 */
public class Hello implements RequestHandler<Map<String, Object>, Map<String, Object>> {
    @Override
    public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
        Object name = event == null ? null : event.get("name");
        if (name == null) {
            throw new IllegalArgumentException("the event has no name");
        }
        context.getLogger().log("greeting " + name + "\n");
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("message", "Hello, " + name + "!");
        answer.put("function", context.getFunctionName());
        answer.put("requestId", context.getAwsRequestId());
        answer.put("java", System.getProperty("java.version"));
        return answer;
    }
}
