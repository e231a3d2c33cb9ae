package webjourney.es9;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Does for an assembled Elasticsearch 9 node what the unpublished server-cli
 * does for a real distribution: it starts the server JVM, writes the
 * server's {@code org.elasticsearch.bootstrap.ServerArgs} (node settings,
 * an empty keystore, config and logs directories, pid file) to the server's
 * stdin and keeps stdin open, because the server shuts down when it closes.
 *
 * <pre>
 * java -cp 'lib/*:launcher.jar' webjourney.es9.ServerLauncher \
 *     NODE_SETTINGS CONFIG_DIR LOGS_DIR PID_FILE -- SERVER_COMMAND...
 * </pre>
 *
 * NODE_SETTINGS holds one {@code key=value} per line (lists comma-separated,
 * as with {@code -E}); blank lines and lines starting with # are skipped.
 *
 * The Elasticsearch classes are reached by reflection so that this file
 * compiles with any JDK 17+ javac: when the Java 21+ that runs the server is a
 * JRE, the JDK 17 that runs 8.19 builds it.
 *
 * The launcher lives as long as the server: it exits with the server's exit
 * code, and when it is stopped (SIGTERM, SIGINT) it asks the server to shut
 * down and waits for it. If it is killed outright, stdin closes and the server
 * stops by itself, so no server outlives its launcher.
 */
public final class ServerLauncher {
    // org.elasticsearch.bootstrap.BootstrapInfo.SERVER_SHUTDOWN_MARKER
    private static final int SERVER_SHUTDOWN_MARKER = '\u001b';

    private ServerLauncher() {}

    public static void main(String[] argv) throws Exception {
        int dashes = Arrays.asList(argv).indexOf("--");
        if (dashes != 4 || argv.length == 5) {
            System.err.println("usage: ServerLauncher NODE_SETTINGS CONFIG_DIR LOGS_DIR PID_FILE -- SERVER_COMMAND...");
            System.exit(2);
        }
        Object serverArgs = serverArgs(Path.of(argv[0]), Path.of(argv[1]), Path.of(argv[2]), Path.of(argv[3]));
        List<String> command = Arrays.asList(argv).subList(5, argv.length);

        Process server = new ProcessBuilder(command)
            .redirectOutput(ProcessBuilder.Redirect.INHERIT)
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
        OutputStream stdin = server.getOutputStream();
        writeServerArgs(serverArgs, stdin);

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (!server.isAlive()) {
                return;
            }
            try {
                stdin.write(SERVER_SHUTDOWN_MARKER);
                stdin.flush();
                stdin.close();
            } catch (IOException e) {
                // The server is already going away.
            }
            try {
                if (!server.waitFor(60, TimeUnit.SECONDS)) {
                    server.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "es9-launcher-shutdown"));

        System.exit(server.waitFor());
    }

    private static Object serverArgs(Path settingsFile, Path configDir, Path logsDir, Path pidFile) throws Exception {
        Class<?> settingsClass = Class.forName("org.elasticsearch.common.settings.Settings");
        Object builder = settingsClass.getMethod("builder").invoke(null);
        Method put = builder.getClass().getMethod("put", String.class, String.class);
        for (String line : Files.readAllLines(settingsFile, StandardCharsets.UTF_8)) {
            String trimmed = line.strip();
            if (trimmed.isEmpty() || trimmed.startsWith("#")) {
                continue;
            }
            int eq = trimmed.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException(settingsFile + ": expected key=value, got: " + line);
            }
            put.invoke(builder, trimmed.substring(0, eq).strip(), trimmed.substring(eq + 1).strip());
        }
        Object settings = builder.getClass().getMethod("build").invoke(builder);

        Object keystore = Class.forName("org.elasticsearch.common.settings.KeyStoreWrapper").getMethod("create").invoke(null);
        Class<?> secureSettingsClass = Class.forName("org.elasticsearch.common.settings.SecureSettings");
        Constructor<?> ctor = Class.forName("org.elasticsearch.bootstrap.ServerArgs")
            .getConstructor(boolean.class, boolean.class, Path.class, secureSettingsClass, settingsClass, Path.class, Path.class);
        // daemonize=false, quiet=false: the server logs to its console, which the script sends to a file.
        return ctor.newInstance(false, false, pidFile, keystore, settings, configDir, logsDir);
    }

    private static void writeServerArgs(Object serverArgs, OutputStream stdin) throws Exception {
        Class<?> streamOutputClass = Class.forName("org.elasticsearch.common.io.stream.StreamOutput");
        Object out = Class.forName("org.elasticsearch.common.io.stream.OutputStreamStreamOutput")
            .getConstructor(OutputStream.class)
            .newInstance(stdin);
        serverArgs.getClass().getMethod("writeTo", streamOutputClass).invoke(serverArgs, out);
        stdin.flush();
    }
}
