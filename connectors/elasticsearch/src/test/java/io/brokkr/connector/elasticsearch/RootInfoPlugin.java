package io.brokkr.connector.elasticsearch;

import java.util.Collection;
import java.util.List;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.elasticsearch.Build;
import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.cluster.ClusterName;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.node.DiscoveryNodes;
import org.elasticsearch.common.io.stream.NamedWriteableRegistry;
import org.elasticsearch.common.settings.ClusterSettings;
import org.elasticsearch.common.settings.IndexScopedSettings;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.settings.SettingsFilter;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.index.IndexVersion;
import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.rest.RestChannel;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.xcontent.XContentBuilder;

/**
 * Test only: answers {@code GET /} and {@code HEAD /} like Elasticsearch's {@code rest-root} module, which is not
 * published on Maven Central (without it the embedded node answers 405 there).
 */
public class RootInfoPlugin extends Plugin implements ActionPlugin {

    private final Settings settings;

    public RootInfoPlugin(Settings settings) {
        this.settings = settings;
    }

    @Override
    public Collection<RestHandler> getRestHandlers(Settings s, NamedWriteableRegistry registry, RestController controller,
            ClusterSettings cs, IndexScopedSettings iss, SettingsFilter filter, IndexNameExpressionResolver resolver,
            Supplier<DiscoveryNodes> nodes, Predicate<NodeFeature> features) {
        return List.of(new RestHandler() {
            @Override
            public List<Route> routes() {
                return List.of(new Route(RestRequest.Method.GET, "/"), new Route(RestRequest.Method.HEAD, "/"));
            }

            @Override
            public void handleRequest(RestRequest request, RestChannel channel, NodeClient client) throws Exception {
                if (request.method() == RestRequest.Method.HEAD) {
                    channel.sendResponse(new RestResponse(RestStatus.OK, "application/json", ""));
                    return;
                }
                Build b = Build.current();
                XContentBuilder x = channel.newBuilder();
                x.startObject()
                        .field("name", settings.get("node.name", "node"))
                        .field("cluster_name", ClusterName.CLUSTER_NAME_SETTING.get(settings).value())
                        .field("cluster_uuid", "_na_")
                        .startObject("version")
                        .field("number", b.qualifiedVersion())
                        .field("build_flavor", b.flavor())
                        .field("build_type", b.type().displayName())
                        .field("build_hash", b.hash())
                        .field("build_date", b.date())
                        .field("build_snapshot", b.isSnapshot())
                        .field("lucene_version", IndexVersion.current().luceneVersion().toString())
                        .field("minimum_wire_compatibility_version", b.minWireCompatVersion())
                        .field("minimum_index_compatibility_version", b.minIndexCompatVersion())
                        .endObject()
                        .field("tagline", "You Know, for Search")
                        .endObject();
                channel.sendResponse(new RestResponse(RestStatus.OK, x));
            }
        });
    }
}
