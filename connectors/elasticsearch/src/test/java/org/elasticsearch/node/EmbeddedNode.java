package org.elasticsearch.node;

import java.util.Collection;
import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.EmbeddedPluginsService;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.PluginsLoader;
import org.elasticsearch.plugins.PluginsService;

/**
 * Test only: a real Elasticsearch node whose plugins are classes on the test classpath (the node's plugin hook is
 * package-private, hence this package).
 */
public class EmbeddedNode extends Node {

    public EmbeddedNode(Environment env, Collection<Class<? extends Plugin>> plugins) {
        super(NodeConstruction.prepareConstruction(env, null, new NodeServiceProvider() {
            @Override
            PluginsService newPluginService(Environment e, PluginsLoader loader) {
                return new EmbeddedPluginsService(e.settings(), e, plugins);
            }
        }, true));
    }
}
