package io.brokkr.connector.elasticsearch;

import io.brokkr.api.storage.RecordFormat;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Test only: reads what landed in Elasticsearch with plain HTTP (independent of the connector's client). */
final class EsHttp {

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String url;

    EsHttp(String url) {
        this.url = url;
    }

    /** The parsed JSON answer; fails on an HTTP status >= 400 unless {@code allow404} and 404. */
    @SuppressWarnings("unchecked")
    Map<String, Object> call(String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() >= 400) {
            throw new AssertionError(method + " " + path + " -> HTTP " + r.statusCode() + ": " + r.body());
        }
        return (Map<String, Object>) RecordFormat.parseJson(r.body());
    }

    void awaitYellow() throws Exception {
        call("GET", "/_cluster/health?wait_for_status=yellow&timeout=30s", null);
    }

    /** Documents in the indices matching {@code index} after a refresh (0 if none exist). */
    long count(String index) throws Exception {
        call("POST", "/" + index + "/_refresh?ignore_unavailable=true&allow_no_indices=true", null);
        Map<String, Object> r = call("GET", "/" + index + "/_count?ignore_unavailable=true&allow_no_indices=true",
                null);
        return ((Number) r.get("count")).longValue();
    }

    /** The documents {@code query} (a query object) finds, after a refresh. */
    long count(String index, String query) throws Exception {
        call("POST", "/" + index + "/_refresh", null);
        return ((Number) call("POST", "/" + index + "/_count", "{\"query\":" + query + "}").get("count")).longValue();
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> doc(String index, String id) throws Exception {
        return call("GET", "/" + index + "/_doc/" + id, null);
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> source(String index, String id) throws Exception {
        return (Map<String, Object>) doc(index, id).get("_source");
    }

    /** The mapped type of a top-level field of an index. */
    @SuppressWarnings("unchecked")
    String fieldType(String index, String field) throws Exception {
        Map<String, Object> r = call("GET", "/" + index + "/_mapping", null);
        Map<String, Object> props = (Map<String, Object>) ((Map<String, Object>) ((Map<String, Object>) r.get(index))
                .get("mappings")).get("properties");
        return (String) ((Map<String, Object>) props.get(field)).get("type");
    }

    @SuppressWarnings("unchecked")
    List<String> indices(String pattern) throws Exception {
        Map<String, Object> r = call("GET", "/" + pattern + "?ignore_unavailable=true&allow_no_indices=true", null);
        return r.keySet().stream().sorted().toList();
    }

    void delete(String index) throws Exception {
        call("DELETE", "/" + index + "?ignore_unavailable=true&allow_no_indices=true", null);
    }
}
