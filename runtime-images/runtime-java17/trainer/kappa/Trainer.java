package kappa;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.Map;

/**
 * The handler of the image's class-data-sharing training run (train_cds.py): a call
 * with a JSON event in and out and the Context and logger used, so that the archive
 * holds the classes every Java function's start and first call load.
 */
public class Trainer implements RequestHandler<Map<String, Object>, Map<String, Object>> {
    @Override
    public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
        context.getLogger().log("training " + context.getAwsRequestId() + "\n");
        if (event.containsKey("fail")) {
            throw new IllegalStateException("a failing call, for the error path's classes");
        }
        return event;
    }
}
