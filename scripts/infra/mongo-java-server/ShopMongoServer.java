import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.ServerVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;

/**
 * MongoDB wire-protocol server for local tests (scripts/infra, MONGO_SERVER=mongo-java-server):
 * mongo-java-server with its H2 backend, data in one file.
 * Usage: ShopMongoServer HOST PORT DATA_FILE
 */
public final class ShopMongoServer {
  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: ShopMongoServer HOST PORT DATA_FILE");
      System.exit(2);
    }
    H2Backend backend = new H2Backend(args[2]);
    backend.version(ServerVersion.MONGO_5_0);
    MongoServer server = new MongoServer(backend);
    // SIGTERM: stop accepting, close the backend (commits the H2 store)
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdown, "shutdown"));
    server.bind(args[0], Integer.parseInt(args[1]));
    System.out.println("ShopMongoServer listening on " + args[0] + ":" + args[1] + ", data " + args[2]);
  }
}
