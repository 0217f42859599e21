package example;

import java.util.Map;

/** A handler whose class cannot initialise: Lambda reports an init error. */
public class InitFails {
    static {
        if (System.getenv("AWS_LAMBDA_FUNCTION_NAME") != null) {
            throw new IllegalStateException("static initialiser failed");
        }
    }

    public String handleRequest(Map<String, Object> event) {
        return "unreachable";
    }
}
