package org.elasticsearch.io.ansi;

import java.util.function.Supplier;

/**
 * Stands in for Elasticsearch's ANSI console loader (lib/tools/ansi-console),
 * which is not published to Maven Central. The server loads this class by name
 * at boot; returning null means "no interactive console", which is what a
 * background test node has anyway.
 */
public final class AnsiConsoleLoader implements Supplier<Object> {
    public AnsiConsoleLoader() {}

    @Override
    public Object get() {
        return null;
    }
}
