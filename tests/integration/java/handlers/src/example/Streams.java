package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/** A RequestStreamHandler: the event's bytes in, the same bytes reversed out. */
public class Streams implements RequestStreamHandler {
    @Override
    public void handleRequest(InputStream input, OutputStream output, Context context)
            throws IOException {
        byte[] bytes = input.readAllBytes();
        for (int i = bytes.length - 1; i >= 0; i--) {
            output.write(bytes[i]);
        }
    }
}
