package org.elasticsearch.plugins;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.elasticsearch.Build;
import org.elasticsearch.action.admin.cluster.node.info.PluginsAndModules;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;

/** Test only: loads plugins from classes on the classpath, like the ES test framework's MockPluginsService. */
public class EmbeddedPluginsService extends PluginsService {

    private final List<LoadedPlugin> classpathPlugins;

    public EmbeddedPluginsService(Settings settings, Environment env, Collection<Class<? extends Plugin>> classes) {
        super(settings, env.configDir(), new PluginsLoader(Set.of(), Set.of(), Map.of()));
        List<LoadedPlugin> loaded = new ArrayList<>();
        for (Class<? extends Plugin> c : classes) {
            PluginDescriptor d = new PluginDescriptor(c.getName(), "classpath plugin", "NA", Build.current().version(),
                    Integer.toString(Runtime.version().feature()), c.getName(), null, List.of(), false, false, false,
                    false);
            loaded.add(new LoadedPlugin(d, loadPlugin(c, settings, env.configDir()), c.getClassLoader()));
        }
        loadExtensions(loaded);
        classpathPlugins = List.copyOf(loaded);
    }

    @Override
    protected final List<LoadedPlugin> plugins() {
        return classpathPlugins;
    }

    @Override
    public PluginsAndModules info() {
        return new PluginsAndModules(classpathPlugins.stream().map(LoadedPlugin::descriptor)
                .map(PluginRuntimeInfo::new).toList(), List.of());
    }
}
