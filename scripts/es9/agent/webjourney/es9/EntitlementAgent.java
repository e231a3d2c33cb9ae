package webjourney.es9;

import java.lang.instrument.Instrumentation;

/**
 * Stands in for Elasticsearch's entitlement agent, which is not published to
 * Maven Central. The server attaches it to itself at boot and passes the name
 * of its entitlement initialisation class as the agent argument; the real
 * agent does nothing but hand the Instrumentation to that class, and so do we.
 */
public final class EntitlementAgent {
    private EntitlementAgent() {}

    public static void agentmain(String initializationClass, Instrumentation inst) throws Exception {
        Class.forName(initializationClass).getMethod("initialize", Instrumentation.class).invoke(null, inst);
    }
}
