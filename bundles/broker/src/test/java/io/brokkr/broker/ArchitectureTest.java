package io.brokkr.broker;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.library.Architectures.LayeredArchitecture;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The one-way package layout of the engine (README "Inside the engine", issue 5 section 2): every package may
 * depend only on the packages listed for it, so that imports run downwards and state has one owner. Every class
 * of the bundle is in one of these packages (none in {@code io.brokkr.broker} itself).
 */
class ArchitectureTest {

    private static final String ROOT = "io.brokkr.broker";

    /** Layer -> the layers it may depend on (top to bottom). A layer may always use its own package. */
    static final Map<String, List<String>> ALLOWED = new LinkedHashMap<>();

    static {
        ALLOWED.put("osgi", List.of("engine", "transport", "protocol", "routing", "session", "config", "persistence",
                "topic"));
        ALLOWED.put("engine", List.of("transport", "protocol", "routing", "session", "config", "persistence", "topic"));
        ALLOWED.put("transport", List.of("config", "topic"));
        // sideways, not up: a connection reads its listener's live config and what PacketInspector found in the raw
        // bytes; transport never names protocol (it gets its handlers from ListenerHost)
        ALLOWED.put("protocol", List.of("transport", "routing", "session", "config", "topic"));
        ALLOWED.put("routing", List.of("session", "config", "topic"));
        ALLOWED.put("session", List.of("config", "topic"));
        ALLOWED.put("persistence", List.of("config", "topic"));
        ALLOWED.put("config", List.of("topic"));
        ALLOWED.put("topic", List.of());
    }

    /** Layers that must not see the MQTT codec's packet classes (only protocol and raw-byte transport may). */
    static final List<String> NO_MQTT_CODEC = List.of("osgi", "engine", "routing", "session", "persistence", "config",
            "topic");

    /** The transport class that sees raw MQTT bytes (it may use the codec's version constants). */
    static final List<String> RAW_BYTES = List.of("PacketInspector");

    static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages(ROOT);
    }

    static String packageOf(String layer) {
        return ROOT + "." + layer + "..";
    }

    @Test
    void importsRunOneWay() {
        LayeredArchitecture layers = layeredArchitecture().consideringOnlyDependenciesInLayers();
        for (String layer : ALLOWED.keySet()) {
            layers = layers.layer(layer).definedBy(packageOf(layer));
        }
        for (Map.Entry<String, List<String>> e : ALLOWED.entrySet()) {
            layers = e.getValue().isEmpty()
                    ? layers.whereLayer(e.getKey()).mayNotAccessAnyLayer()
                    : layers.whereLayer(e.getKey()).mayOnlyAccessLayers(e.getValue().toArray(String[]::new));
        }
        layers.check(classes);
    }

    @Test
    void everyClassIsInALayer() {
        noClasses().should().resideOutsideOfPackages(ALLOWED.keySet().stream().map(ArchitectureTest::packageOf)
                        .toArray(String[]::new))
                .check(classes);
    }

    @Test
    void onlyProtocolAndTransportSeeMqttPackets() {
        noClasses().that().resideInAnyPackage(NO_MQTT_CODEC.stream().map(ArchitectureTest::packageOf)
                        .toArray(String[]::new))
                .should().dependOnClassesThat().resideInAPackage("io.netty.handler.codec.mqtt..")
                .check(classes);
        noClasses().that().resideInAPackage(packageOf("transport"))
                .and().doNotHaveSimpleName(RAW_BYTES.get(0))
                .should().dependOnClassesThat().resideInAPackage("io.netty.handler.codec.mqtt..")
                .check(classes);
    }

    /** Packages whose top-level classes must not reference each other in a cycle either (nested classes count as
     * their top-level class). */
    static final List<String> ONE_WAY_INSIDE = List.of("protocol");

    /**
     * Inside protocol the arrows run one way too: the packet handlers (ConnectNegotiation, InboundPublish,
     * OutboundPublish, SubscribeHandling) and the keep alive timers work on ConnectionState; only MqttConnection,
     * the Netty handler that extends it, calls them.
     */
    @Test
    void classesInsideProtocolReferenceEachOtherOneWay() {
        for (String layer : ONE_WAY_INSIDE) {
            String pkg = ROOT + "." + layer;
            slices().assignedFrom(new SliceAssignment() {
                @Override
                public SliceIdentifier getIdentifierOf(JavaClass c) {
                    if (!c.getPackageName().equals(pkg)) {
                        return SliceIdentifier.ignore();
                    }
                    String name = c.getName().substring(pkg.length() + 1);
                    int nested = name.indexOf('$');
                    return SliceIdentifier.of(nested < 0 ? name : name.substring(0, nested));
                }

                @Override
                public String getDescription() {
                    return "the top-level classes of " + pkg;
                }
            }).should().beFreeOfCycles().check(classes);
        }
    }
}
