package example;

import java.util.Map;

/** Plain methods named as Class::method; one throws, one throws with a cause. */
public class Failing {
    /** An exception of the function's own, whose class name Lambda reports as errorType. */
    public static class NameMissing extends RuntimeException {
        public NameMissing(String message, Throwable cause) {
            super(message, cause);
        }
    }

    public String fail(Map<String, Object> event) {
        throw new IllegalArgumentException("no name in " + event.keySet());
    }

    public String failWithCause(Map<String, Object> event) {
        try {
            Integer.parseInt("not a number");
            return "unreachable";
        } catch (NumberFormatException e) {
            throw new NameMissing("the name is missing", e);
        }
    }

    public String upper(String text) {
        return text.toUpperCase();
    }
}
