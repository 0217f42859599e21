package greeting;

/** A dependency of the handlers, packaged as lib/greeting.jar (Lambda's zip layout). */
public final class Greeter {
    private Greeter() {}

    public static String greet(String name) {
        return "Hello, " + name + "!";
    }
}
