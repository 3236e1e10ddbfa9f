import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.bson.Document;

/**
 * A MongoDB wire-protocol server for ConnectorStoresIT, run as its own process with the JDK's source launcher
 * ({@code java -cp <brokkr.mongo.classpath> MongoServerMain.java PORT}); not compiled by the build, so that the test
 * probe does not import it. de.bwaldvogel mongo-java-server, memory backend, on 127.0.0.1:PORT; prints
 * {@code listening} once bound. Each line {@code find DATABASE COLLECTION} on stdin is answered with the collection's
 * documents as JSON, one per line, then a line {@code .}, read with the MongoDB driver over the wire. Stops when stdin
 * ends (the test, or the JVM that started it, is gone).
 */
public class MongoServerMain {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        MongoServer server = new MongoServer(new MemoryBackend());
        server.bind("127.0.0.1", port);
        System.out.println("listening");
        System.out.flush();
        try (MongoClient client = MongoClients.create("mongodb://127.0.0.1:" + port);
             BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                String[] w = line.trim().split(" ");
                if (w.length == 3 && w[0].equals("find")) {
                    for (Document d : client.getDatabase(w[1]).getCollection(w[2]).find()) {
                        System.out.println(d.toJson());
                    }
                } else {
                    System.out.println("error: unknown command " + line);
                }
                System.out.println(".");
                System.out.flush();
            }
        } finally {
            server.shutdownNow();
        }
    }
}
